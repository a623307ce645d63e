// Wrapper module that builds the Mattermost server (Team Edition) from the Go
// module proxy. The pinned commit is recorded in VERSION; pin.sh rewrites this
// file from it. Build with GOWORK=off (see build.sh).
module mme2ee.local/build/mattermost

go 1.24.11

require (
	github.com/mattermost/mattermost/server/public v0.1.22
	github.com/mattermost/mattermost/server/v8 v8.0.0-20260130160320-3321db82c3e7
)

// Our proxy refuses the zip of msoleps v1.0.5 (needed by docconv via mscfb);
// v1.0.6 is the next patch release and is served. Requiring it lets MVS pick it.
require github.com/richardlehane/msoleps v1.0.6

// Copied from server/go.mod at the pinned commit: replace directives only
// apply in the main module, so the wrapper must repeat them.
replace github.com/olekukonko/tablewriter => github.com/olekukonko/tablewriter v0.0.5

// server/go.mod also has
//   replace github.com/vmihailenco/msgpack/v5 => github.com/mattermost/msgpack/v5 v5.0.0-20260120151306-2f9c67d7e57f
// (MM-66167, a hardening fork). Our proxy refuses that fork, so the wrapper
// builds with upstream vmihailenco/msgpack/v5: fine for a local test server.
