// P-256 point validation shared by key import and message parsing (the Go server checks the
// same: docs/design.md §3).
import {toHex} from './encoding';

// P-256 (secp256r1): y^2 = x^3 - 3x + b over GF(p).
const P = BigInt('0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff');
const B = BigInt('0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b');

function toBig(bytes: Uint8Array): bigint {
    return BigInt('0x' + toHex(bytes));
}

/** Why raw is not a 65-byte uncompressed P-256 point (04 || X || Y, X and Y < p, on the
 * curve), or null when it is one. */
export function pointProblem(raw: Uint8Array): string | null {
    if (raw.length !== 65 || raw[0] !== 0x04) {
        return 'expected a 65-byte uncompressed P-256 point';
    }
    const x = toBig(raw.subarray(1, 33));
    const y = toBig(raw.subarray(33, 65));
    if (x >= P || y >= P) {
        return 'coordinate out of range';
    }
    const rhs = (((x * x % P) * x - 3n * x + B) % P + P) % P;
    if ((y * y) % P !== rhs) {
        return 'point is not on P-256';
    }
    return null;
}
