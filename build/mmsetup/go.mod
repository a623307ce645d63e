// mmsetup: stdlib-only helper for build/mm-up.sh (config merge, readiness
// wait, idempotent provisioning over the local-mode socket). Own module so the
// plugin's go.mod stays untouched; no dependencies, so no go.sum.
module mme2ee.local/build/mmsetup

go 1.24
