package main

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/lib/pq"
)

// user is one logged-in account.
type user struct {
	id, name, token string
}

// item is one post a client will make; e2ee is nil for a plaintext post.
type item struct {
	client    int
	channelID string
	text      string
	e2ee      map[string]any
	sig       string // props.e2ee.signature: what identifies an encrypted post in the database
}

func (it *item) encrypted() bool { return it.e2ee != nil }

// outcome of one POST /api/v4/posts.
type outcome struct {
	item    *item
	status  int    // 0: no HTTP response
	sent    bool   // the request may have reached the server (no response is then ambiguous)
	postID  string // when acknowledged (201)
	body    string // refusal text (4xx/5xx)
	errText string
	at      time.Time
	latency time.Duration
}

type run struct {
	root, pluginID, envFile     string
	nClients, nPosts, nChannels int
	prefix                      string
	http                        *http.Client

	admin         *user
	users         []*user
	intruder      *user
	encChannels   []string
	plainChannels []string
	members       map[string][]*user // channel -> posting members
	items         [][]*item          // per client, in posting order
	withEpochs    bool               // setup makes a channel-key channel and its epoch records
	ckChannel     string
	ckRecords     []epochRecord

	mu       sync.Mutex
	outcomes []outcome
}

func newRun(root string, clients, posts, channels int) (*run, error) {
	r := &run{root: root, nClients: clients, nPosts: posts, nChannels: channels, envFile: os.Getenv("MM_ENV_FILE"),
		members: map[string][]*user{}}
	var err error
	if r.pluginID, err = pluginID(root); err != nil {
		return nil, err
	}
	for _, v := range []string{"MM_SERVICESETTINGS_SITEURL", "MM_ADMIN_TOKEN", "MM_TEAM_ID", "MM_TEST_PASSWORD", "MM_DSN", "MM_PLUGIN_DIR"} {
		if os.Getenv(v) == "" {
			return nil, fmt.Errorf("%s is not set: source the server's env file (build/load.sh does)", v)
		}
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	r.prefix = "ld" + hex.EncodeToString(b)
	r.http = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
	return r, nil
}

func site() string { return strings.TrimSuffix(os.Getenv("MM_SERVICESETTINGS_SITEURL"), "/") }

// call makes one request; out (if not nil) gets the JSON body of a 2xx answer.
func (r *run) call(u *user, method, path string, body any, out any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, site()+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if u != nil && u.token != "" {
		req.Header.Set("Authorization", "Bearer "+u.token)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, data, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, data, nil
}

// must makes a request that has to answer want.
func (r *run) must(u *user, method, path string, body any, want int, out any) error {
	status, data, err := r.call(u, method, path, body, out)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if status != want {
		return fmt.Errorf("%s %s: HTTP %d, want %d: %s", method, path, status, want, data)
	}
	return nil
}

func (r *run) plugin(path string) string { return "/plugins/" + r.pluginID + "/api/v1" + path }

func (r *run) newUser(name string) (*user, error) {
	var u struct {
		ID string `json:"id"`
	}
	pass := os.Getenv("MM_TEST_PASSWORD")
	if err := r.must(r.admin, "POST", "/api/v4/users", map[string]any{"username": name, "email": name + "@example.com", "password": pass}, http.StatusCreated, &u); err != nil {
		return nil, err
	}
	team := os.Getenv("MM_TEAM_ID")
	if err := r.must(r.admin, "POST", "/api/v4/teams/"+team+"/members", map[string]string{"team_id": team, "user_id": u.ID}, http.StatusCreated, nil); err != nil {
		return nil, err
	}
	req, _ := http.NewRequest("POST", site()+"/api/v4/users/login", strings.NewReader(fmt.Sprintf(`{"login_id":%q,"password":%q}`, name, pass)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.http.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("login %s: HTTP %d", name, resp.StatusCode)
	}
	return &user{id: u.ID, name: name, token: resp.Header.Get("Token")}, nil
}

func (r *run) newChannel(owner *user, display string, members []*user) (string, error) {
	var ch struct {
		ID string `json:"id"`
	}
	name := strings.ToLower(r.prefix + "-" + strings.ReplaceAll(display, " ", "-"))
	if err := r.must(owner, "POST", "/api/v4/channels", map[string]string{"team_id": os.Getenv("MM_TEAM_ID"), "name": name, "display_name": display, "type": "O"}, http.StatusCreated, &ch); err != nil {
		return "", err
	}
	for _, m := range members {
		if m.id == owner.id {
			continue
		}
		if err := r.must(owner, "POST", "/api/v4/channels/"+ch.ID+"/members", map[string]string{"user_id": m.id}, http.StatusCreated, nil); err != nil {
			return "", err
		}
	}
	return ch.ID, nil
}

func (r *run) setMethod(u *user, channelID, method string) (int, []byte, error) {
	return r.call(u, "POST", r.plugin("/channel/encryption_method?chanID="+channelID+"&method="+method), nil, nil)
}

// setup makes the users, channels and keys, and every post's content (the encrypted ones by
// the crypto core through webapp/dist-cli/loadgen.js). Channel k holds the clients i with
// i % channels == k; the intruder (no key) is in every encrypted channel.
func (r *run) setup(withIntruder bool) error {
	t0 := time.Now()
	r.admin = &user{token: os.Getenv("MM_ADMIN_TOKEN")}
	for i := 0; i < r.nClients; i++ {
		u, err := r.newUser(fmt.Sprintf("%s-u%02d", r.prefix, i))
		if err != nil {
			return err
		}
		r.users = append(r.users, u)
	}
	if withIntruder {
		var err error
		if r.intruder, err = r.newUser(r.prefix + "-intruder"); err != nil {
			return err
		}
	}
	for k := 0; k < r.nChannels; k++ {
		var members []*user
		for i := k % r.nClients; i < r.nClients; i += r.nChannels {
			members = append(members, r.users[i])
		}
		encMembers := members
		if r.intruder != nil {
			encMembers = append(append([]*user{}, members...), r.intruder)
		}
		enc, err := r.newChannel(members[0], fmt.Sprintf("Load E%02d", k), encMembers)
		if err != nil {
			return err
		}
		plain, err := r.newChannel(members[0], fmt.Sprintf("Load P%02d", k), members)
		if err != nil {
			return err
		}
		r.encChannels = append(r.encChannels, enc)
		r.plainChannels = append(r.plainChannels, plain)
		r.members[enc], r.members[plain] = members, members
	}

	// Each client alternates encrypted and plaintext posts.
	type specPost struct {
		ChannelID  string   `json:"channelId"`
		RootID     string   `json:"rootId"`
		UserID     string   `json:"userId"`
		Recipients []string `json:"recipients"`
		Text       string   `json:"text"`
	}
	type specUser struct {
		ID    string `json:"id"`
		Nonce string `json:"nonce"`
	}
	type specEpochs struct {
		ChannelID string   `json:"channelId"`
		CreatorID string   `json:"creatorId"`
		Members   []string `json:"members"`
		Count     int      `json:"count"`
	}
	var spec struct {
		Users  []specUser   `json:"users"`
		Posts  []specPost   `json:"posts"`
		Epochs []specEpochs `json:"epochs"`
	}
	if r.withEpochs {
		members := r.members[r.encChannels[0]]
		ch, err := r.newChannel(members[0], "Load K", members)
		if err != nil {
			return err
		}
		r.ckChannel, r.members[ch] = ch, members
		var ids []string
		for _, m := range members {
			ids = append(ids, m.id)
		}
		spec.Epochs = append(spec.Epochs, specEpochs{ChannelID: ch, CreatorID: members[0].id, Members: ids, Count: 200})
	}
	perClient := r.nPosts / r.nClients
	var encItems []*item
	r.items = make([][]*item, r.nClients)
	for i, u := range r.users {
		k := i % r.nChannels
		var ids []string
		for _, m := range r.members[r.encChannels[k]] {
			ids = append(ids, m.id)
		}
		for j := 0; j < perClient; j++ {
			filler := " The quick brown fox jumps over the lazy dog, a post of a realistic length."
			enc := &item{client: i, channelID: r.encChannels[k], text: fmt.Sprintf("%s c%02d e%04d secret.%s", r.prefix, i, j, filler)}
			plain := &item{client: i, channelID: r.plainChannels[k], text: fmt.Sprintf("%s c%02d p%04d clear.%s", r.prefix, i, j, filler)}
			r.items[i] = append(r.items[i], enc, plain)
			encItems = append(encItems, enc)
			spec.Posts = append(spec.Posts, specPost{ChannelID: enc.channelID, UserID: u.id, Recipients: ids, Text: enc.text})
		}
		var n struct {
			Nonce string `json:"nonce"`
		}
		if err := r.must(u, "GET", r.plugin("/pubkey/nonce"), nil, http.StatusOK, &n); err != nil {
			return err
		}
		spec.Users = append(spec.Users, specUser{ID: u.id, Nonce: n.Nonce})
	}
	dir, err := os.MkdirTemp("", "mme2ee-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	specFile := filepath.Join(dir, "spec.json")
	data, _ := json.Marshal(spec)
	if err := os.WriteFile(specFile, data, 0o600); err != nil {
		return err
	}
	t1 := time.Now()
	cmd := exec.Command("node", filepath.Join(r.root, "webapp/dist-cli/loadgen.js"), specFile)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("loadgen (make cli builds it): %w", err)
	}
	var gen struct {
		Keys map[string]struct {
			Pubkey map[string]string `json:"pubkey"`
			Proof  string            `json:"proof"`
		} `json:"keys"`
		Posts  []map[string]any `json:"posts"`
		Epochs [][]epochRecord  `json:"epochs"`
	}
	if err := json.Unmarshal(out, &gen); err != nil || len(gen.Posts) != len(encItems) {
		return fmt.Errorf("loadgen output: %v (%d posts for %d)", err, len(gen.Posts), len(encItems))
	}
	for i, it := range encItems {
		it.e2ee = gen.Posts[i]
		it.sig, _ = it.e2ee["signature"].(string)
	}
	if r.ckChannel != "" {
		if len(gen.Epochs) != 1 {
			return errors.New("loadgen output: no epoch records")
		}
		r.ckRecords = gen.Epochs[0]
	}
	logf("crypto core made %d keys, %d v2 posts and %d epoch records in %.1f s", len(gen.Keys), len(gen.Posts), len(r.ckRecords), time.Since(t1).Seconds())
	for _, u := range r.users {
		k := gen.Keys[u.id]
		if err := r.must(u, "POST", r.plugin("/pubkey/push"), map[string]any{"pubkey": k.Pubkey, "proof": k.Proof}, http.StatusOK, nil); err != nil {
			return err
		}
	}
	for _, ch := range r.encChannels {
		status, body, err := r.setMethod(r.members[ch][0], ch, "p2p")
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("turning encryption on: %d %s %v", status, body, err)
		}
	}
	if r.ckChannel != "" {
		status, body, err := r.setMethod(r.members[r.ckChannel][0], r.ckChannel, "channel")
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("turning channel-key mode on: %d %s %v", status, body, err)
		}
	}
	logf("setup: %d users, %d+%d channels, keys pushed with proofs, in %.1f s", len(r.users), len(r.encChannels), len(r.plainChannels), time.Since(t0).Seconds())
	return nil
}

// post makes one post and records the outcome.
func (r *run) post(it *item) outcome {
	u := r.users[it.client]
	body := map[string]any{"channel_id": it.channelID, "message": it.text}
	if it.encrypted() {
		body = map[string]any{"channel_id": it.channelID, "message": "Encrypted message", "type": "custom_e2ee", "props": map[string]any{"e2ee": it.e2ee}}
	}
	return r.postAs(u, it, body)
}

func (r *run) postAs(u *user, it *item, body map[string]any) outcome {
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", site()+"/api/v4/posts", bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+u.token)
	o := outcome{item: it, at: time.Now()}
	resp, err := r.http.Do(req)
	o.latency = time.Since(o.at)
	if err != nil {
		o.errText = err.Error()
		// Refused connections never reached the server; anything else may have.
		o.sent = !errors.Is(err, syscall.ECONNREFUSED)
	} else {
		o.sent = true
		o.status = resp.StatusCode
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusCreated {
			var p struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(raw, &p) == nil {
				o.postID = p.ID
			}
		} else {
			o.body = string(raw)
		}
	}
	r.mu.Lock()
	r.outcomes = append(r.outcomes, o)
	r.mu.Unlock()
	return o
}

// postAll runs every client over its items from index `from` to `to` (exclusive); pace is the
// pause after each post, onFail the pause after a failed one.
func (r *run) postAll(from, to int, pace, onFail time.Duration) {
	var wg sync.WaitGroup
	for i := range r.users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, it := range r.items[i][from:min(to, len(r.items[i]))] {
				o := r.post(it)
				if o.status != http.StatusCreated {
					time.Sleep(onFail)
				} else if pace > 0 {
					time.Sleep(pace)
				}
			}
		}()
	}
	wg.Wait()
}

func percentile(xs []time.Duration, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]time.Duration{}, xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	idx := int(p*float64(len(s))+0.999999) - 1
	idx = max(0, min(idx, len(s)-1))
	return float64(s[idx].Microseconds()) / 1000
}

// pluginProcess finds the plugin's process by its executable, under the server's plugin dir.
func (r *run) pluginProcess() (int, error) {
	dir := filepath.Join(os.Getenv("MM_PLUGIN_DIR"), r.pluginID, "server", "dist") + "/"
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var pids []int
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.HasPrefix(exe, dir) && !strings.HasSuffix(exe, " (deleted)") {
			pids = append(pids, pid)
		}
	}
	if len(pids) != 1 {
		return 0, fmt.Errorf("want one plugin process running from %s, found %v", dir, pids)
	}
	return pids[0], nil
}

// rssKiB reads VmRSS of pid.
func rssKiB(pid int) (int, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var n int
			_, err := fmt.Sscanf(strings.TrimSpace(v), "%d", &n)
			return n, err
		}
	}
	return 0, errors.New("no VmRSS")
}

func openDB() (*sql.DB, error) {
	return sql.Open("postgres", os.Getenv("MM_DSN"))
}
