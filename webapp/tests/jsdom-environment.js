// jsdom with Node's real WebCrypto and structuredClone, which jsdom lacks.
const {TestEnvironment} = require('jest-environment-jsdom');
const {webcrypto} = require('crypto');
const {TextEncoder, TextDecoder} = require('util');

class JsdomWithWebCrypto extends TestEnvironment {
    async setup() {
        await super.setup();
        Object.defineProperty(this.global, 'crypto', {value: webcrypto, configurable: true});
        this.global.TextEncoder = TextEncoder;
        this.global.TextDecoder = TextDecoder;
        this.global.structuredClone = structuredClone;
    }
}

module.exports = JsdomWithWebCrypto;
