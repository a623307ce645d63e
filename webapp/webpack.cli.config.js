// Node bundles of the crypto core: the mm-e2ee CLI, the benchmark and the load input maker (dist-cli/).
const path = require('path');
const webpack = require('webpack');

module.exports = (env, argv) => ({
    target: 'node20',
    mode: argv.mode || 'production',
    devtool: false,
    entry: {
        'mm-e2ee': './src/cli/mm-e2ee.ts',
        bench: './bench/bench.ts',
        loadgen: './bench/loadgen.ts',
    },
    resolve: {extensions: ['.ts', '.js']},
    module: {
        rules: [
            {
                test: /\.ts$/,
                exclude: /node_modules/,
                use: {loader: 'ts-loader', options: {transpileOnly: true, configFile: 'tsconfig.json'}},
            },
        ],
    },
    output: {
        path: path.join(__dirname, 'dist-cli'),
        filename: '[name].js',
        clean: true,
    },
    plugins: [new webpack.BannerPlugin({banner: '#!/usr/bin/env node', raw: true, entryOnly: true, test: /mm-e2ee\.js$/})],
    optimization: {minimize: false},
    performance: {hints: false},
});
