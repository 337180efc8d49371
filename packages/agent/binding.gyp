{
  "targets": [
    {
      "target_name": "sock_diag",
      "sources": ["native/sock_diag.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
