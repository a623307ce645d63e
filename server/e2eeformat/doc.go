// Package e2eeformat decodes and verifies every byte string a client sends the server: props.e2ee
// of encrypted posts (v1, v2 and channel-key v3), epoch records, their parts and joiner wraps,
// public keys and their proof of possession, armored key backups and encrypted file headers (F1).
// It is plain Go over the standard library's crypto, with no Mattermost plugin API, so that it can
// be tested and fuzzed alone (docs/design.md §3, §6, §13, §15 specify the formats). The plugin
// calls it; what a check needs from storage (keys, epoch heads) the plugin passes in.
package e2eeformat
