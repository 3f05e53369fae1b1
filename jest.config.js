// Three tiers, one runner. Unit tests (*.spec.ts) touch no server; integration tests
// (*.int-spec.ts) and end-to-end tests (test/e2e/*.e2e-spec.ts) run against the real
// nats-server, PostgreSQL and Docker that scripts/infra.sh starts (see libs/testing).
const { resolve } = require('node:path');
const tsconfig = require('./tsconfig.json');

const moduleNameMapper = {};
for (const [alias, [target]] of Object.entries(tsconfig.compilerOptions.paths)) {
  moduleNameMapper[`^${alias}$`] = `<rootDir>/${target}`;
}

const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  },
];

const common = {
  rootDir: resolve(__dirname),
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j|mj)s$': swc },
  // NestJS 12 and unbash ship ESM only: let swc transform them to CommonJS like our own code.
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|unbash)/)'],
  moduleNameMapper,
  setupFiles: ['reflect-metadata'],
};

module.exports = {
  // Global only (Jest ignores it per project): integration and e2e hooks start real processes.
  testTimeout: 120_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{libs,services}/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'int',
      testMatch: ['<rootDir>/{libs,services}/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/libs/testing/src/jest-global-setup.js',
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/libs/testing/src/jest-global-setup.js',
    },
  ],
};
