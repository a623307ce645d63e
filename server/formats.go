package main

import "github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"

// The plugin decodes and verifies client input with package e2eeformat (no plugin API there,
// so that it can be fuzzed alone); these names are the ones used all over the plugin.
type (
	PublicKey           = e2eeformat.PublicKey
	messageContext      = e2eeformat.Context
	InvalidMessageError = e2eeformat.InvalidMessageError
)
