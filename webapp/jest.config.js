// Two projects: the crypto core and other pure code run in Node (real WebCrypto),
// React components run in jsdom.
const common = {
    transform: {'^.+\\.tsx?$': ['ts-jest', {tsconfig: 'tsconfig.json'}]},
    moduleFileExtensions: ['ts', 'tsx', 'js', 'json'],
};

module.exports = {
    projects: [
        {
            ...common,
            displayName: 'node',
            testEnvironment: 'node',
            testMatch: ['<rootDir>/tests/**/*.test.ts', '<rootDir>/src/**/*.test.ts'],
        },
        {
            ...common,
            displayName: 'dom',
            testEnvironment: '<rootDir>/tests/jsdom-environment.js',
            testMatch: ['<rootDir>/tests/**/*.test.tsx', '<rootDir>/src/**/*.test.tsx'],
        },
    ],
};
