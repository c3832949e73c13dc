import * as effectEslint from "@effect/eslint-plugin"
import js from "@eslint/js"
import sortDestructureKeys from "eslint-plugin-sort-destructure-keys"
import tseslint from "typescript-eslint"

// A barrel evaluates every module of its package when it is imported: all of effect, and
// @effect/platform's Swagger and Scalar bundles among the rest, held in every server process's heap.
const barrels = [
  "effect",
  "@effect/platform",
  "@effect/platform-node",
  "@effect/sql",
  "@effect/sql-pg",
  "@effect/opentelemetry"
]
  .map((name) => ({
    name,
    message:
      `Import from a subpath (\`import * as Effect from "effect/Effect"\`, \`import { pipe } from "effect/Function"\`): `
      + `the "${name}" barrel loads every module of the package into the process (SPEC section 12, memory).`
  }))

export default tseslint.config(
  { ignores: ["**/dist", "**/node_modules", "**/.data", "**/*.md"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...effectEslint.configs.dprint,
  {
    plugins: { "sort-destructure-keys": sortDestructureKeys },
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
    rules: {
      "no-fallthrough": "off",
      "object-shorthand": "error",
      "require-yield": "off",
      "sort-destructure-keys/sort-destructure-keys": "error",
      "@typescript-eslint/array-type": ["warn", { default: "generic", readonly: "generic" }],
      "@typescript-eslint/consistent-type-imports": "warn",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@effect/dprint": ["error", {
        config: {
          indentWidth: 2,
          lineWidth: 120,
          semiColons: "asi",
          quoteStyle: "alwaysDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force"
        }
      }]
    }
  },
  {
    files: ["src/**/*.ts", "scripts/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { paths: barrels }] }
  }
)
