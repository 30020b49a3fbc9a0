import { fileURLToPath } from 'node:url';

import { defineConfig } from 'vitest/config';

const electronFake = fileURLToPath(new URL('./test/mocks/electron.ts', import.meta.url));

/**
 * Test projects (docs/architecture.md §16). `core` has NO electron alias: an accidental `electron` import
 * fails loudly there. `main` and `preload` get the typed fake electron module.
 */
export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'core',
          environment: 'node',
          include: [
            'test/core/**/*.test.ts',
            'test/shared/**/*.test.ts',
            'test/sim/**/*.test.ts',
            'test/arch/**/*.test.ts',
          ],
        },
      },
      {
        extends: true,
        resolve: { alias: { electron: electronFake } },
        test: {
          name: 'main',
          environment: 'node',
          include: ['test/main/**/*.test.ts', 'test/preload/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'renderer',
          environment: 'node',
          include: ['test/renderer/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'cli',
          environment: 'node',
          include: ['test/cli/**/*.test.ts', 'test/headless/**/*.test.ts', 'test/comfyui/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.test.ts'],
          // Browser and Electron end-to-end tests share the machine's 2 cores: one file at a time.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
