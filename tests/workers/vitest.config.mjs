// Tests inside workerd (@cloudflare/vitest-plugin): the Worker, the relay
// Durable Object and D1 exactly as wrangler.toml configures them.
//   npm run test:workers   (node 22, offline env: see scripts/test)
import { fileURLToPath } from 'node:url';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export default defineConfig(async () => ({
  root: ROOT,
  plugins: [
    cloudflareTest({
      wrangler: { configPath: `${ROOT}wrangler.toml` },
      miniflare: {
        bindings: {
          // The setup file applies these to the test D1 database.
          TEST_MIGRATIONS: await readD1Migrations(`${ROOT}migrations`),
          // Enables GET /stats (a secret in production; stats.worker.test.js).
          METRICS_TOKEN: 'test-metrics-token',
        },
      },
    }),
  ],
  test: {
    include: ['tests/workers/*.worker.test.js'],
    setupFiles: ['tests/workers/apply-migrations.js'],
    testTimeout: 20000,
  },
}));
