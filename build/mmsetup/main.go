// Command mmsetup prepares and provisions the local Mattermost test server for
// build/mm-up.sh without curl/jq:
//
//	mmsetup config    -file F -set Section.Key=JSON ...   merge settings into config.json
//	mmsetup wait      -url URL -timeout D                  wait for GET /api/v4/system/ping
//	mmsetup provision -url URL -socket S ...               admin, token, team, users (idempotent)
//
// provision talks to the local-mode socket (no credentials needed, full
// rights) for everything except the login that proves the admin password
// works, and prints shell-sourceable KEY='VALUE' lines on stdout.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: mmsetup config|wait|provision [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "config":
		err = runConfig(os.Args[2:])
	case "wait":
		err = runWait(os.Args[2:])
	case "provision":
		err = runProvision(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mmsetup:", err)
		os.Exit(1)
	}
}

// ---- config ---------------------------------------------------------------

type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, ",") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

// runConfig merges Section.Key=<JSON value> pairs into the config file. It
// keeps every other key, so settings changed through the API (plugin
// settings, plugin states) survive a second `make mm-up`.
func runConfig(args []string) error {
	fs := flag.NewFlagSet("config", flag.ExitOnError)
	file := fs.String("file", "", "config.json to create or update")
	var sets setFlags
	fs.Var(&sets, "set", "Section.Key=<JSON value> (repeatable)")
	_ = fs.Parse(args)
	if *file == "" {
		return errors.New("config: -file is required")
	}

	cfg := map[string]any{}
	if b, err := os.ReadFile(*file); err == nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("config: %s: %w", *file, err)
		}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}

	for _, s := range sets {
		path, raw, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("config: bad -set %q", s)
		}
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			return fmt.Errorf("config: value of %s is not JSON: %w", path, err)
		}
		keys := strings.Split(path, ".")
		m := cfg
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[keys[len(keys)-1]] = v
	}

	out, err := json.MarshalIndent(cfg, "", "    ")
	if err != nil {
		return err
	}
	// Write-then-rename: the server watches this file and must never read half of it.
	tmp := *file + ".tmp"
	if err := os.WriteFile(tmp, append(out, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, *file)
}

// ---- wait -----------------------------------------------------------------

func runWait(args []string) error {
	fs := flag.NewFlagSet("wait", flag.ExitOnError)
	url := fs.String("url", "", "site URL")
	timeout := fs.Duration("timeout", 120*time.Second, "how long to wait")
	pidFile := fs.String("pidfile", "", "stop waiting early if this pid dies")
	_ = fs.Parse(args)

	deadline := time.Now().Add(*timeout)
	client := &http.Client{Timeout: 3 * time.Second}
	for {
		resp, err := client.Get(strings.TrimRight(*url, "/") + "/api/v4/system/ping")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`"OK"`)) {
				return nil
			}
		}
		if *pidFile != "" && !pidAlive(*pidFile) {
			return errors.New("wait: the server process exited")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait: %s not ready after %s", *url, *timeout)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func pidAlive(pidFile string) bool {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join("/proc", strings.TrimSpace(string(b))))
	return err == nil
}

// ---- provision ------------------------------------------------------------

type api struct {
	base   string
	client *http.Client
	bearer string
}

type apiError struct {
	Status int
	Body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

func (a *api) do(method, path string, in, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Requested-With", "XMLHttpRequest")
	if a.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+a.bearer)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return resp.Header, &apiError{resp.StatusCode, strings.TrimSpace(string(b))}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.Header, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.Header, nil
}

func isStatus(err error, code int) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == code
}

type user struct {
	ID            string `json:"id,omitempty"`
	Username      string `json:"username"`
	Email         string `json:"email"`
	Password      string `json:"password,omitempty"`
	EmailVerified bool   `json:"email_verified"`
	Roles         string `json:"roles,omitempty"`
}

type team struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Type        string `json:"type"`
}

// ensureUser returns the user, creating it if needed, and makes sure its email
// is verified and its password is the one we document.
func ensureUser(local *api, name, email, password string) (*user, error) {
	var u user
	_, err := local.do("GET", "/api/v4/users/username/"+name, nil, &u)
	if isStatus(err, http.StatusNotFound) {
		in := user{Username: name, Email: email, Password: password, EmailVerified: true}
		if _, err := local.do("POST", "/api/v4/users", in, &u); err != nil {
			return nil, fmt.Errorf("create user %s: %w", name, err)
		}
		return &u, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get user %s: %w", name, err)
	}
	if !u.EmailVerified {
		if _, err := local.do("POST", "/api/v4/users/"+u.ID+"/email/verify/member", nil, nil); err != nil {
			return nil, fmt.Errorf("verify email of %s: %w", name, err)
		}
	}
	return &u, nil
}

func runProvision(args []string) error {
	fs := flag.NewFlagSet("provision", flag.ExitOnError)
	siteURL := fs.String("url", "", "site URL (for the password login check)")
	socket := fs.String("socket", "", "local-mode socket")
	adminUser := fs.String("admin-user", "sysadmin", "")
	adminPass := fs.String("admin-pass", "", "")
	emailDomain := fs.String("email-domain", "example.com", "")
	teamName := fs.String("team", "e2ee", "")
	users := fs.String("users", "alice bob carol", "space-separated test users")
	userPass := fs.String("user-pass", "", "")
	tokenFile := fs.String("token-file", "", "where the admin's personal access token is kept")
	_ = fs.Parse(args)
	if *adminPass == "" || *userPass == "" || *socket == "" || *siteURL == "" || *tokenFile == "" {
		return errors.New("provision: -url, -socket, -admin-pass, -user-pass and -token-file are required")
	}

	local := &api{base: "http://localhost", client: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", *socket)
		}},
	}}
	site := &api{base: strings.TrimRight(*siteURL, "/"), client: &http.Client{Timeout: 30 * time.Second}}

	// 1. The system admin. Local mode creates it with system_admin whether or
	// not the database already has users, so no first-user race.
	admin, err := ensureUser(local, *adminUser, *adminUser+"@"+*emailDomain, *adminPass)
	if err != nil {
		return err
	}
	if !strings.Contains(" "+admin.Roles+" ", " system_admin ") {
		if _, err := local.do("PUT", "/api/v4/users/"+admin.ID+"/roles",
			map[string]string{"roles": "system_user system_admin"}, nil); err != nil {
			return fmt.Errorf("make %s system admin: %w", *adminUser, err)
		}
	}

	// 2. Prove the documented password works over TCP (what tests will do);
	// reset it through local mode if someone changed it.
	login := func() error {
		_, err := site.do("POST", "/api/v4/users/login",
			map[string]string{"login_id": *adminUser, "password": *adminPass}, nil)
		return err
	}
	if err := login(); err != nil {
		if _, err := local.do("PUT", "/api/v4/users/"+admin.ID+"/password",
			map[string]string{"new_password": *adminPass}, nil); err != nil {
			return fmt.Errorf("reset %s password: %w", *adminUser, err)
		}
		if err := login(); err != nil {
			return fmt.Errorf("login as %s: %w", *adminUser, err)
		}
	}

	// 3. Personal access token: reuse the stored one while it still works.
	token := ""
	if b, err := os.ReadFile(*tokenFile); err == nil {
		token = strings.TrimSpace(string(b))
	}
	if token != "" {
		probe := &api{base: site.base, client: site.client, bearer: token}
		var me user
		if _, err := probe.do("GET", "/api/v4/users/me", nil, &me); err != nil || me.ID != admin.ID {
			token = ""
		}
	}
	if token == "" {
		var pat struct {
			Token string `json:"token"`
		}
		if _, err := local.do("POST", "/api/v4/users/"+admin.ID+"/tokens",
			map[string]string{"description": "mme2ee integration tests (mm-up.sh)"}, &pat); err != nil {
			return fmt.Errorf("create access token: %w", err)
		}
		token = pat.Token
		if err := os.WriteFile(*tokenFile, []byte(token+"\n"), 0o600); err != nil {
			return err
		}
	}

	// 4. The team.
	var t team
	_, err = local.do("GET", "/api/v4/teams/name/"+*teamName, nil, &t)
	if isStatus(err, http.StatusNotFound) {
		in := team{Name: *teamName, DisplayName: strings.ToUpper(*teamName), Type: "O"}
		if _, err := local.do("POST", "/api/v4/teams", in, &t); err != nil {
			return fmt.Errorf("create team %s: %w", *teamName, err)
		}
	} else if err != nil {
		return fmt.Errorf("get team %s: %w", *teamName, err)
	}

	// 5. Test users, and everyone (admin too) in the team. Adding an existing
	// member is a no-op for the server.
	ids := map[string]string{*adminUser: admin.ID}
	names := strings.Fields(*users)
	for _, n := range names {
		u, err := ensureUser(local, n, n+"@"+*emailDomain, *userPass)
		if err != nil {
			return err
		}
		ids[n] = u.ID
	}
	for _, n := range append([]string{*adminUser}, names...) {
		if _, err := local.do("POST", "/api/v4/teams/"+t.ID+"/members",
			map[string]string{"team_id": t.ID, "user_id": ids[n]}, nil); err != nil {
			return fmt.Errorf("add %s to team %s: %w", n, *teamName, err)
		}
	}

	// Shell-sourceable output; values are single-quoted.
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	fmt.Printf("MM_ADMIN_TOKEN=%s\n", q(token))
	fmt.Printf("MM_ADMIN_USER_ID=%s\n", q(admin.ID))
	fmt.Printf("MM_TEAM_ID=%s\n", q(t.ID))
	for _, n := range names {
		fmt.Printf("MM_USER_ID_%s=%s\n", strings.ToUpper(n), q(ids[n]))
	}
	return nil
}
