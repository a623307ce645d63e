// Stands in for 'mattermost-redux/constants' in main.js (alias in webpack.config.js): the
// package's constants index also pulls in permissions, posts, emoji and other tables (~45 KB
// minified) that the selectors we bundle never read. They read only General and Preferences;
// the build fails if another bundled module imports the index (webpack.config.js).
export {default as General} from 'mattermost-redux/constants/general';
export {default as Preferences} from 'mattermost-redux/constants/preferences';
