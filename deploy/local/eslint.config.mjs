// @ts-check
// The local stack scripts are plain CommonJS run by Node without a build step;
// ESLint uses the nearest config, so extend the root one for them.
import globals from 'globals';
import rootConfig from '../../eslint.config.mjs';

export default [
  ...rootConfig,
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node, ...globals.mocha } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
];
