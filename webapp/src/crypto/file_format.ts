// Sizes of the F1 file format (docs/design.md §15.1), apart from the code that encrypts: the
// upload hook needs them in main.js, the encryption itself is a lazily loaded chunk.
export const F1_HEADER_BYTES = 20;
export const F1_CHUNK_BYTES = 65536;
export const F1_TAG_BYTES = 16;
export const F1_KEY_BYTES = 32;

/** Size of the F1 ciphertext of a plaintext of `size` bytes. */
export function encryptedFileSize(size: number): number {
    const chunks = Math.max(1, Math.ceil(size / F1_CHUNK_BYTES));
    return F1_HEADER_BYTES + size + (chunks * F1_TAG_BYTES);
}
