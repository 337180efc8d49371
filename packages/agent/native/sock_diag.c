/*
 * tcpStates(nsPath): per-state TCP socket counts of one network namespace from one netlink
 * sock_diag dump, the source `ss` reads. Written against Node-API only (node_api.h).
 *
 * The request is the compat one (TCPDIAG_GETSOCK, struct inet_diag_req): the kernel dumps it
 * with sdiag_family AF_UNSPEC (net/ipv4/inet_diag.c inet_diag_dump_compat), so IPv4 and IPv6
 * sockets come from ONE pass over the host-wide TCP hash table, and only the namespace's own
 * sockets are returned, in binary (no text formatted). /proc/PID/net/tcp and tcp6 cost two passes.
 *
 * A netlink socket dumps the namespace it was created in, so the socket is created inside the
 * target namespace: setns(target) on the calling thread, socket(), setns back to the thread's own
 * namespace (an fd of /proc/thread-self/ns/net opened once per thread) before anything else. If
 * going back fails the process aborts: it must never go on in the wrong namespace.
 *
 * Returns a Uint32Array of 24: IPv4 counts of kernel states 1..12 at 0..11, IPv6 at 12..23
 * (request sockets are reported by the kernel as SYN_RECV, 3, as in /proc/net/tcp; TIME-WAIT
 * sockets with their substate, TIME_WAIT or FIN_WAIT2, as in /proc/net/tcp).
 * Throws an Error whose `code` is the errno name (EPERM, ENOENT, ...) and `syscall` the step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <node_api.h>

#ifndef TCPDIAG_GETSOCK
#define TCPDIAG_GETSOCK 18
#endif
#ifndef NLM_F_DUMP_INTR
#define NLM_F_DUMP_INTR 0x10
#endif

#define NSTATES 12
/* States 1..12 (TCP_ESTABLISHED .. TCP_NEW_SYN_RECV); never 13, TCP_BOUND_INACTIVE, which would
 * add bound-only sockets that neither /proc/net/tcp nor `ss -a` shows. */
#define STATE_BITS (((1u << (NSTATES + 1)) - 1) & ~1u)
#define RECV_BUF (64 * 1024)
/* Bounds of one dump: messages (sockets) and bytes; a dump beyond them is an error (E2BIG). */
#define MAX_MESSAGES (64u * 1024 * 1024)
#define MAX_BYTES (16ull * 1024 * 1024 * 1024)
/* A dump interrupted by a concurrent table change (NLM_F_DUMP_INTR) is retried this often. */
#define MAX_ATTEMPTS 3
#define RECV_TIMEOUT_S 10

static __thread int own_ns_fd = -1;

struct failure {
  int err;
  const char *step;
};

static int fail(struct failure *f, int err, const char *step) {
  f->err = err;
  f->step = step;
  return -1;
}

/* The netlink sock_diag socket of the namespace at `path` (NULL: the thread's own). */
static int diag_socket(const char *path, struct failure *f) {
  if (own_ns_fd < 0) {
    own_ns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (own_ns_fd < 0) return fail(f, errno, "open /proc/thread-self/ns/net");
  }
  int target = -1;
  if (path != NULL) {
    target = open(path, O_RDONLY | O_CLOEXEC);
    if (target < 0) return fail(f, errno, "open");
    struct stat a, b;
    if (fstat(target, &a) != 0) {
      int e = errno;
      close(target);
      return fail(f, e, "fstat");
    }
    if (fstat(own_ns_fd, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
      /* The thread's own namespace: no setns. */
      close(target);
      target = -1;
    }
  }
  if (target >= 0 && setns(target, CLONE_NEWNET) != 0) {
    int e = errno;
    close(target);
    return fail(f, e, "setns");
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  int sock_errno = errno;
  if (target >= 0) {
    if (setns(own_ns_fd, CLONE_NEWNET) != 0) {
      fprintf(stderr, "tcpfleet-agent: sock_diag: cannot return to the agent's own network namespace after entering %s (%s); aborting rather than go on in the wrong namespace\n", path,
              strerror(errno));
      abort();
    }
    close(target);
  }
  if (fd < 0) return fail(f, sock_errno, "socket");
  return fd;
}

/* One dump on `fd` into counts[24]. 0 done; 1 interrupted (retry); -1 failed. */
static int dump_once(int fd, uint32_t seq, uint32_t *counts, unsigned char *buf, struct failure *f) {
  struct {
    struct nlmsghdr nlh;
    struct inet_diag_req r;
  } req;
  memset(&req, 0, sizeof req);
  req.nlh.nlmsg_len = sizeof req;
  req.nlh.nlmsg_type = TCPDIAG_GETSOCK;
  req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nlh.nlmsg_seq = seq;
  req.r.idiag_family = AF_UNSPEC;
  req.r.idiag_states = STATE_BITS;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t sent;
  do sent = sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel);
  while (sent < 0 && errno == EINTR);
  if (sent < 0) return fail(f, errno, "sendto");
  if ((size_t)sent != sizeof req) return fail(f, EIO, "sendto");

  memset(counts, 0, 2 * NSTATES * sizeof *counts);
  uint64_t bytes = 0;
  uint32_t messages = 0;
  int interrupted = 0;
  for (;;) {
    struct sockaddr_nl from;
    struct iovec iov = {.iov_base = buf, .iov_len = RECV_BUF};
    struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n = recvmsg(fd, &mh, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(f, errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno, "recv");
    }
    if (n == 0) return fail(f, EIO, "recv");
    /* A datagram larger than the buffer would lose sockets: never count from a truncated one. */
    if (mh.msg_flags & MSG_TRUNC) return fail(f, EMSGSIZE, "recv");
    if (from.nl_pid != 0) continue; /* not from the kernel */
    bytes += (uint64_t)n;
    if (bytes > MAX_BYTES) return fail(f, E2BIG, "recv");
    int left = (int)n; /* at most RECV_BUF */
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = 1;
      if (h->nlmsg_type == NLMSG_DONE) return interrupted;
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) return fail(f, EIO, "recv");
        const struct nlmsgerr *e = NLMSG_DATA(h);
        if (e->error == 0) continue;
        return fail(f, -e->error, "dump");
      }
      if (h->nlmsg_type != TCPDIAG_GETSOCK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg))) continue;
      if (++messages > MAX_MESSAGES) return fail(f, E2BIG, "recv");
      const struct inet_diag_msg *m = NLMSG_DATA(h);
      unsigned st = m->idiag_state;
      if (st < 1 || st > NSTATES) continue;
      if (m->idiag_family == AF_INET) counts[st - 1]++;
      else if (m->idiag_family == AF_INET6) counts[NSTATES + st - 1]++;
    }
    if (left != 0) return fail(f, EIO, "recv");
  }
}

static int tcp_states(const char *path, uint32_t *counts, struct failure *f) {
  int fd = diag_socket(path, f);
  if (fd < 0) return -1;
  struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  unsigned char *buf = malloc(RECV_BUF);
  if (buf == NULL) {
    close(fd);
    return fail(f, ENOMEM, "malloc");
  }
  int r = 1;
  for (uint32_t attempt = 1; attempt <= MAX_ATTEMPTS && r == 1; attempt++) r = dump_once(fd, attempt, counts, buf, f);
  free(buf);
  close(fd);
  if (r == 1) return fail(f, EAGAIN, "dump interrupted");
  return r;
}

static napi_value throw_failure(napi_env env, const char *path, const struct failure *f) {
  char msg[4096 + 256];
  const char *name = strerrorname_np(f->err);
  snprintf(msg, sizeof msg, "sock_diag %s%s%s: %s", f->step, path ? " " : "", path ? path : "", strerror(f->err));
  napi_value err, code, text, syscall;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_string_utf8(env, name ? name : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, text, &err);
  napi_create_string_utf8(env, f->step, NAPI_AUTO_LENGTH, &syscall);
  napi_set_named_property(env, err, "syscall", syscall);
  napi_value errnum;
  napi_create_int32(env, f->err, &errnum);
  napi_set_named_property(env, err, "errno", errnum);
  napi_throw(env, err);
  return NULL;
}

static napi_value TcpStates(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  char path[4096];
  const char *p = NULL;
  napi_valuetype t = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t == napi_string) {
    size_t len = 0;
    if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok) return NULL;
    if (len == 0 || len >= sizeof path - 1) {
      napi_throw_type_error(env, "EINVAL", "tcpStates: nsPath must be a non-empty path shorter than 4095 bytes");
      return NULL;
    }
    p = path;
  } else if (t != napi_null && t != napi_undefined) {
    napi_throw_type_error(env, "EINVAL", "tcpStates: nsPath must be a string or null");
    return NULL;
  }
  napi_value ab, out;
  void *data = NULL;
  if (napi_create_arraybuffer(env, 2 * NSTATES * sizeof(uint32_t), &data, &ab) != napi_ok) return NULL;
  struct failure f = {0, ""};
  if (tcp_states(p, (uint32_t *)data, &f) != 0) return throw_failure(env, p, &f);
  if (napi_create_typedarray(env, napi_uint32_array, 2 * NSTATES, ab, 0, &out) != napi_ok) return NULL;
  return out;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  if (napi_create_function(env, "tcpStates", NAPI_AUTO_LENGTH, TcpStates, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "tcpStates", fn) != napi_ok) return NULL;
  return exports;
}
