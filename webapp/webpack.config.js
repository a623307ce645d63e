// Production bundle of the webapp part: one main.js that uses the host's React,
// Redux and friends (window globals), plus lazily loaded chunks (OpenPGP) beside it.
const path = require('path');

// mattermost-redux modules allowed to import its constants index, which main.js replaces by
// src/vendor/mattermost_redux_constants.ts (General and Preferences only).
const CONSTANTS_INDEX = 'mattermost-redux/constants';
const CONSTANTS_READERS = ['selectors/entities/general.js', 'selectors/entities/preferences.js', 'utils/theme_utils.js'];

class ConstantsReadersCheck {
    apply(compiler) {
        compiler.hooks.afterCompile.tap('ConstantsReadersCheck', (compilation) => {
            for (const module of compilation.modules) {
                const resource = (module.resource || '').split(path.sep).join('/');
                const imports = (module.dependencies || []).some((d) => d.request === CONSTANTS_INDEX);
                if (imports && !CONSTANTS_READERS.some((r) => resource.endsWith(`mattermost-redux/lib/${r}`))) {
                    compilation.errors.push(new Error(`${resource} imports ${CONSTANTS_INDEX}, which main.js reduces to General and Preferences: check what it reads and extend src/vendor/mattermost_redux_constants.ts`));
                }
            }
        });
    }
}

module.exports = (env, argv) => ({
    // Reproducible output (docs/design.md §12): paths relative to this folder, ids from them.
    context: __dirname,
    entry: './src/index.tsx',
    mode: argv.mode || 'production',
    devtool: argv.mode === 'development' ? 'eval-source-map' : false,
    resolve: {
        extensions: ['.ts', '.tsx', '.js'],
        alias: {[`${CONSTANTS_INDEX}$`]: path.join(__dirname, 'src/vendor/mattermost_redux_constants.ts')},
    },
    plugins: [new ConstantsReadersCheck()],
    module: {
        rules: [
            {
                test: /\.tsx?$/,
                exclude: /node_modules/,
                use: {loader: 'ts-loader', options: {transpileOnly: true, configFile: 'tsconfig.build.json'}},
            },
        ],
    },
    // The Mattermost web app provides these as window globals (classic JSX
    // transform: React.createElement, which both React 18 and 19 hosts provide).
    externals: {
        react: 'React',
        'react-dom': 'ReactDOM',
        redux: 'Redux',
        'react-redux': 'ReactRedux',
        'prop-types': 'PropTypes',
    },
    output: {
        path: path.join(__dirname, 'dist'),
        filename: 'main.js',
        // Chunks live beside the bundle under /static/plugins/<id>/ (the server copies
        // the whole dist folder); 'auto' finds that URL from the bundle's own script element.
        chunkFilename: '[name].[contenthash:8].js',
        publicPath: 'auto',
        clean: true,
    },
    optimization: {moduleIds: 'deterministic', chunkIds: 'deterministic'},
    performance: {hints: false},
});
