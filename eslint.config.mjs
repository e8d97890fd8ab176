// @ts-check
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** The folders every feature may import, and that import nothing but each other and packages. */
const LOWER_LAYERS = ['common', 'config', 'database'];

/**
 * Imports point down: a file in common/, config/ or database/ may reach, outside its own folder,
 * only those three. The rule is written per depth (one `../` for src/config/x.ts, two for
 * src/common/errors/x.ts, ...), so that a relative import within the folder stays allowed and any
 * other destination, a feature folder (auth, users, health, metrics, redis, ...) or a top-level
 * file such as app.module.ts or entities.ts, is refused, new features included. Six levels cover
 * today's deepest file (three) with room to spare.
 */
const importsPointDown = [1, 2, 3, 4, 5, 6].map((depth) => {
  const layers = `{${LOWER_LAYERS.join(',')}}`;
  const allowed = `(?!(${LOWER_LAYERS.join('|')})(/|$))`;
  return {
    files: [`src/${layers}/${'*/'.repeat(depth - 1)}*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./){${depth}}${allowed}|^src/${allowed}`,
              message:
                'common/, config/ and database/ import only each other: move what is needed down, ' +
                'or inject it (imports point down).',
            },
          ],
        },
      ],
    },
  };
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'eslint.config.mjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/require-await': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      eqeqeq: ['error', 'always'],
      curly: ['error', 'all'],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'commonjs',
      globals: { require: 'readonly', process: 'readonly' },
    },
    rules: {
      ...tseslint.configs.disableTypeChecked.rules,
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  ...importsPointDown,
  {
    files: ['test/**/*.ts', '**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
