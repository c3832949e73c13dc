import { defineConfig } from "vitest/config"

// npm run test:chaos: the crash suite, apart from `npm test` because it runs for a minute or more.
export default defineConfig({
  test: {
    include: ["test/chaos/**/*.chaos.ts"],
    setupFiles: ["./test/setup.ts"],
    globalSetup: ["./test/globalSetup.ts"],
    testTimeout: 240_000,
    hookTimeout: 120_000,
    pool: "forks"
  }
})
