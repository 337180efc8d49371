// Lint for tcpfleet: typescript-eslint with type information (each TypeScript file is checked with
// the tsconfig that builds it: packages/*/tsconfig.json, test/tsconfig.json). Formatting is
// prettier's job (`prettier --check` in `npm run lint`), so no stylistic rules here.
// Every rule turned off or relaxed below says why.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'test/fixtures/**', 'test/golden/**', 'bench/results/**', '**/*.tsbuildinfo'],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
      parserOptions: {
        projectService: {
          // The root vitest configs are type-checked by test/tsconfig.json, which the project
          // service does not find from the repository root (the root tsconfig only references the packages).
          allowDefaultProject: ['vitest.config.ts', 'vitest.faults.config.ts', 'vitest.shared.ts'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Asked for by issue 13: a promise nobody awaits loses its error.
      '@typescript-eslint/no-floating-promises': 'error',
      // A switch over a union must name every member (new states, new message types).
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // `import type` for types only (verbatimModuleSyntax relies on it; TEAM.md asks for it). An inline
      // `import('ws').WebSocket` annotation is type-only as well (erased), so it is allowed.
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'separate-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      // Product code writes its output with process.stdout/stderr.write or the pino logger; a stray
      // console.log is a debugging leftover. Test and bench files are exempt below.
      'no-console': 'error',
      // Unused names are errors, except the conventional `_` prefix for a parameter kept for its position.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Numbers in template strings are the common case here (messages, sizes, counts); booleans
      // and nullish values still are reported.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // Off: with noUncheckedIndexedAccess (tsconfig.base.json) every index read is `T | undefined`;
      // `!` is how this code says "index proven in range" (prepared statements looked up by a fixed
      // key, hot parser loops over bounds-checked arrays). A runtime check there would cost time and
      // say nothing more than the assertion does.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Off: `return sendJson(res, ...)`, `return this.close(...)`, `if (bad) return this.#bad(...)` are this
      // code's early-exit idiom in void functions (routes, session, parsers, CLI printers: 42 places), and
      // arrow shorthands such as `setTimeout(() => this.#tick())` are everywhere. The rule would turn
      // each into two statements and catch nothing TypeScript's void checks do not.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // Best-effort cleanup (`try { unlinkSync(p) } catch {}`) is deliberate; an empty block anywhere else is still reported.
      'no-empty': ['error', { allowEmptyCatch: true }],
      // Off: a typed reader names the type its caller expects once, in the return type (getJson<T>,
      // walkHistory<T>, check<T> of a zod schema, compile<F> of generated code); the rule would have
      // each return `unknown` and every caller cast, which says the same less plainly.
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
    },
  },
  {
    // Tests and benchmarks print their findings and use console for it.
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: {
      'no-console': 'off',
      // Tests parse the system's JSON output (JSON.parse gives `any`) and assert its shape with
      // expect(); a wrong shape fails the assertion, which is the check. Product code keeps these rules.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // Tests feed values the types say cannot occur (JSON.stringify(undefined) is undefined though
      // typed string; `let col: Proc` set in beforeAll is checked in afterAll in case setup threw; a flag set
      // by a callback ends a bounded loop): the rule reports each of these as unnecessary.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // ws's RawData is typed Buffer | ArrayBuffer | Buffer[]; the test servers receive whole messages
      // as Buffer and decode them with toString().
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    // Plain JavaScript (bin shims, bench and scripts in .mjs) is in no tsconfig: no type information.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
