//go:build integration

// Package integration tests the installed plugin against a real Mattermost server, as a
// hostile client would. Run with `make integration-test` after `make mm-up` and `make deploy`.
package integration

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type env struct {
	site, adminToken, password, teamID, mailsink, dsn, pluginID string
}

func loadEnv(t *testing.T) *env {
	t.Helper()
	e := &env{
		site:       strings.TrimSuffix(os.Getenv("MM_SERVICESETTINGS_SITEURL"), "/"),
		adminToken: os.Getenv("MM_ADMIN_TOKEN"),
		password:   os.Getenv("MM_TEST_PASSWORD"),
		teamID:     os.Getenv("MM_TEAM_ID"),
		mailsink:   strings.TrimSuffix(os.Getenv("MAILSINK_URL"), "/"),
		dsn:        os.Getenv("MM_DSN"),
	}
	if e.site == "" || e.adminToken == "" || e.password == "" || e.teamID == "" {
		t.Fatal("no server: run `make mm-up` and source .mattermost/env (make integration-test does)")
	}
	// The plugin id comes from the manifest, its single source.
	raw, err := os.ReadFile("../../plugin.json")
	require.NoError(t, err)
	var m struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(raw, &m))
	e.pluginID = m.ID
	return e
}

// client is one logged-in user talking REST.
type client struct {
	t      *testing.T
	e      *env
	token  string
	userID string
	name   string
}

func (e *env) login(t *testing.T, username string) *client {
	body, _ := json.Marshal(map[string]string{"login_id": username, "password": e.password})
	resp, err := http.Post(e.site+"/api/v4/users/login", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "login %s: %s", username, data)
	var u struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(data, &u))
	return &client{t: t, e: e, token: resp.Header.Get("Token"), userID: u.ID, name: username}
}

func (e *env) admin(t *testing.T) *client {
	c := &client{t: t, e: e, token: e.adminToken, name: "sysadmin"}
	var me struct {
		ID string `json:"id"`
	}
	c.mustJSON("GET", "/api/v4/users/me", nil, http.StatusOK, &me)
	c.userID = me.ID
	return c
}

type response struct {
	status int
	body   []byte
	header http.Header
}

func (r response) json(t *testing.T, out any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, out), "body: %s", r.body)
}

func (c *client) raw(method, path string, body io.Reader, contentType string) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.e.site+path, body)
	require.NoError(c.t, err)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return response{resp.StatusCode, data, resp.Header}
}

func (c *client) do(method, path string, body any) response {
	c.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(c.t, err)
		r = bytes.NewReader(data)
	}
	return c.raw(method, path, r, "application/json")
}

func (c *client) mustJSON(method, path string, body any, status int, out any) {
	c.t.Helper()
	r := c.do(method, path, body)
	require.Equal(c.t, status, r.status, "%s %s: %s", method, path, r.body)
	if out != nil {
		r.json(c.t, out)
	}
}

// plugin calls the plugin's API: /plugins/<id>/api/v1/<path>.
func (c *client) plugin(method, path string, body any) response {
	c.t.Helper()
	return c.do(method, "/plugins/"+c.e.pluginID+"/api/v1"+path, body)
}

// errorOf checks the plugin's error body: JSON {"error": "..."}.
func errorOf(t *testing.T, r response) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	require.NoError(t, json.Unmarshal(r.body, &e), "error body must be JSON: %s", r.body)
	require.NotEmpty(t, e.Error, "body: %s", r.body)
	return e.Error
}

func randomName(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

type post struct {
	ID        string         `json:"id"`
	UserID    string         `json:"user_id"`
	ChannelID string         `json:"channel_id"`
	RootID    string         `json:"root_id,omitempty"`
	Message   string         `json:"message"`
	Type      string         `json:"type"`
	Props     map[string]any `json:"props"`
	FileIDs   []string       `json:"file_ids,omitempty"`
}

func (c *client) createPost(p post) response {
	c.t.Helper()
	return c.do("POST", "/api/v4/posts", p)
}

func (c *client) channelPosts(channelID string) []post {
	c.t.Helper()
	var list struct {
		Order []string        `json:"order"`
		Posts map[string]post `json:"posts"`
	}
	c.mustJSON("GET", "/api/v4/channels/"+channelID+"/posts?per_page=200", nil, http.StatusOK, &list)
	out := make([]post, 0, len(list.Order))
	for _, id := range list.Order {
		out = append(out, list.Posts[id])
	}
	return out
}

func (c *client) upload(channelID, name string, content []byte) response {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(c.t, mw.WriteField("channel_id", channelID))
	fw, err := mw.CreateFormFile("files", name)
	require.NoError(c.t, err)
	_, _ = fw.Write(content)
	require.NoError(c.t, mw.Close())
	return c.raw("POST", "/api/v4/files", &buf, mw.FormDataContentType())
}

// command runs a slash command through the server's command pipeline.
func (c *client) command(channelID, cmd string) string {
	c.t.Helper()
	var resp struct {
		Text         string `json:"text"`
		ResponseType string `json:"response_type"`
	}
	c.mustJSON("POST", "/api/v4/commands/execute", map[string]string{
		"channel_id": channelID, "team_id": c.e.teamID, "command": cmd,
	}, http.StatusOK, &resp)
	return resp.Text
}

// eventually retries f until it returns true (mail delivery is asynchronous).
func eventually(t *testing.T, d time.Duration, f func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if f() {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf(msg, args...)
}
