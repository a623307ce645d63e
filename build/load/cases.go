package main

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// latencies of acknowledged posts, by kind.
func (r *run) latencies(from, to time.Time) (enc, plain []time.Duration) {
	for _, o := range r.outcomes {
		if o.status != http.StatusCreated || o.at.Before(from) || o.at.After(to) {
			continue
		}
		if o.item.encrypted() {
			enc = append(enc, o.latency)
		} else {
			plain = append(plain, o.latency)
		}
	}
	return enc, plain
}

func round(x float64) float64 { return float64(int(x*100+0.5)) / 100 }

// loadCase: every client posts all its items as fast as the server answers.
func (r *run) loadCase() (map[string]any, error) {
	if err := r.setup(false); err != nil {
		return nil, err
	}
	pid, err := r.pluginProcess()
	if err != nil {
		return nil, err
	}
	rssBefore, err := rssKiB(pid)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	r.postAll(0, len(r.items[0]), 0, 0)
	wall := time.Since(start)
	pidAfter, err := r.pluginProcess()
	if err != nil {
		return nil, err
	}
	rssAfter, err := rssKiB(pidAfter)
	if err != nil {
		return nil, err
	}
	t, checkErr := r.exactlyOnce(nil)
	enc, plain := r.latencies(start, time.Now())
	p50e, p50p := percentile(enc, 0.5), percentile(plain, 0.5)
	p99e, p99p := percentile(enc, 0.99), percentile(plain, 0.99)
	report := map[string]any{
		"clients": r.nClients, "posts": t, "wall_s": round(wall.Seconds()),
		"posts_per_s":      round(float64(t.Acked) / wall.Seconds()),
		"encrypted_p50_ms": p50e, "encrypted_p99_ms": p99e, "plain_p50_ms": p50p, "plain_p99_ms": p99p,
		"p50_ratio": round(p50e / p50p), "p99_ratio": round(p99e / p99p), "p50_ratio_target": 1.3,
		"plugin_rss_before_kib": rssBefore, "plugin_rss_after_kib": rssAfter, "plugin_pid_unchanged": pid == pidAfter,
	}
	switch {
	case checkErr != nil:
		return report, checkErr
	case t.Acked != t.Attempts:
		return report, fmt.Errorf("%d of %d posts were not acknowledged", t.Attempts-t.Acked, t.Attempts)
	case pid != pidAfter:
		return report, errors.New("the plugin process changed during the load (it crashed)")
	}
	return report, nil
}

// intruder posts plaintext into the encrypted channels until stop is closed; it returns the IDs
// the server acknowledged and when it was refused, in order.
type intruderLog struct {
	mu      sync.Mutex
	acked   map[string]time.Time
	refused []time.Time
	unsure  []time.Time // refused because the hook could not check (fail closed)
	other   []string
}

func (r *run) runIntruder(stop <-chan struct{}) (*intruderLog, *sync.WaitGroup) {
	return r.runIntruderAs(stop, r.intruder)
}

func (r *run) runIntruderAs(stop <-chan struct{}, as *user) (*intruderLog, *sync.WaitGroup) {
	l := &intruderLog{acked: map[string]time.Time{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			ch := r.encChannels[n%len(r.encChannels)]
			it := &item{client: -1, channelID: ch, text: fmt.Sprintf("%s intruder plaintext %d", r.prefix, n)}
			status, body, err := r.call(as, "POST", "/api/v4/posts", map[string]any{"channel_id": ch, "message": it.text}, nil)
			now := time.Now()
			l.mu.Lock()
			switch {
			case err == nil && status == http.StatusCreated:
				var p struct {
					ID string `json:"id"`
				}
				_ = json.Unmarshal(body, &p)
				l.acked[p.ID] = now
			case err == nil && status == http.StatusBadRequest && strings.Contains(string(body), "end-to-end encrypted"):
				l.refused = append(l.refused, now)
				if strings.Contains(string(body), "the server could not check it") {
					l.unsure = append(l.unsure, now)
				}
			case err == nil:
				l.other = append(l.other, fmt.Sprintf("HTTP %d", status))
			default:
				l.other = append(l.other, "no answer")
			}
			l.mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return l, &wg
}

func (l *intruderLog) ackedIDs() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]bool{}
	for id := range l.acked {
		out[id] = true
	}
	return out
}

func (r *run) ackedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, o := range r.outcomes {
		if o.status == http.StatusCreated {
			n++
		}
	}
	return n
}

// faultRun: setup, then the clients post 90% of their items paced (so that the fault lands
// in the middle), the fault is injected once a fifth of those are acknowledged, then the last
// 10% are posted after recovery and must all be acknowledged.
func (r *run) faultRun(inject func() error, extra func(stop <-chan struct{}) *sync.WaitGroup) (*intruderLog, time.Duration, error) {
	if err := r.setup(true); err != nil {
		return nil, 0, err
	}
	n := len(r.items[0])
	mainEnd := n - max(2, n/10)
	stop := make(chan struct{})
	intr, iwg := r.runIntruder(stop)
	var ewg *sync.WaitGroup
	if extra != nil {
		ewg = extra(stop)
	}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		r.postAll(0, mainEnd, 100*time.Millisecond, 250*time.Millisecond)
		close(done)
	}()
	for r.ackedCount() < r.nClients*mainEnd/5 {
		select {
		case <-done:
			return nil, 0, errors.New("the load ended before the fault was injected")
		case <-time.After(50 * time.Millisecond):
		}
	}
	logf("injecting the fault after %d acknowledged posts (%.1f s)", r.ackedCount(), time.Since(start).Seconds())
	injectErr := inject()
	<-done
	close(stop)
	iwg.Wait()
	if ewg != nil {
		ewg.Wait()
	}
	if injectErr != nil {
		return intr, 0, injectErr
	}
	before := len(r.outcomes)
	r.postAll(mainEnd, n, 0, 0)
	for _, o := range r.outcomes[before:] {
		if o.status != http.StatusCreated {
			return intr, 0, fmt.Errorf("after recovery a post was not acknowledged: HTTP %d %s %s", o.status, o.body, o.errText)
		}
	}
	return intr, time.Since(start), nil
}

// waitSwept waits until every acknowledged intruder post is deleted (the sweep).
func (r *run) waitSwept(ids map[string]bool, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		stored, err := r.storedPosts()
		if err != nil {
			return time.Time{}, err
		}
		live := 0
		for id := range ids {
			if p, ok := stored[id]; ok && p.deleteAt == 0 {
				live++
			}
		}
		if live == 0 {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%d intruder plaintext posts still live in encrypted channels after %s", live, timeout)
		}
		time.Sleep(time.Second)
	}
}

// pluginKillCase: SIGKILL to the plugin's process only; the server restarts it.
func (r *run) pluginKillCase() (map[string]any, error) {
	var killedAt, procAt, backAt time.Time
	var oldPID, newPID int
	intr, total, err := r.faultRun(func() error {
		var err error
		if oldPID, err = r.pluginProcess(); err != nil {
			return err
		}
		if err := syscall.Kill(oldPID, syscall.SIGKILL); err != nil {
			return err
		}
		killedAt = time.Now()
		logf("killed the plugin process %d", oldPID)
		for time.Since(killedAt) < 3*time.Minute {
			if pid, err := r.pluginProcess(); err == nil && pid != oldPID {
				newPID, procAt = pid, time.Now()
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if newPID == 0 {
			return errors.New("the server did not restart the plugin within 3 minutes (after 3 crashes in an hour it stops: start a fresh server)")
		}
		// Back means the hooks refuse plaintext again.
		for time.Since(killedAt) < 4*time.Minute {
			status, _, err := r.call(r.intruder, "POST", "/api/v4/posts", map[string]any{"channel_id": r.encChannels[0], "message": r.prefix + " intruder probe"}, nil)
			if err == nil && status == http.StatusBadRequest {
				backAt = time.Now()
				return nil
			}
			// A probe that got in is swept with the rest (its user is the intruder).
			time.Sleep(100 * time.Millisecond)
		}
		return errors.New("the plugin did not refuse plaintext again within 4 minutes")
	}, nil)
	report := map[string]any{}
	if err != nil {
		return report, err
	}
	ids := intr.ackedIDs()
	// Probes that got in are the intruder's too.
	stored, err := r.storedPosts()
	if err != nil {
		return report, err
	}
	for id, p := range stored {
		if p.userID == r.intruder.id {
			ids[id] = true
		}
	}
	var encInWindow, plainInWindow int
	for _, o := range r.outcomes {
		if o.status == http.StatusCreated && o.at.After(killedAt) && o.at.Before(backAt) {
			if o.item.encrypted() {
				encInWindow++
			} else {
				plainInWindow++
			}
		}
	}
	sweptAt, sweepErr := r.waitSwept(ids, 2*time.Minute)
	t, checkErr := r.exactlyOnce(ids)
	report = map[string]any{
		"posts": t, "wall_s": round(total.Seconds()), "plugin_pid_before": oldPID, "plugin_pid_after": newPID,
		"window_s":                      round(backAt.Sub(killedAt).Seconds()),
		"plugin_process_back_s":         round(procAt.Sub(killedAt).Seconds()),
		"intruder_plaintext_acked":      len(ids),
		"encrypted_acked_in_window":     encInWindow,
		"plain_channel_acked_in_window": plainInWindow,
		"swept":                         t.IntruderRowsGone,
	}
	if !sweptAt.IsZero() {
		report["all_swept_s_after_kill"] = round(sweptAt.Sub(killedAt).Seconds())
	}
	switch {
	case sweepErr != nil:
		return report, sweepErr
	case checkErr != nil:
		return report, checkErr
	case len(ids) == 0:
		return report, errors.New("no plaintext got in while the plugin was away: the window was not exercised")
	case t.IntruderRowsGone != len(ids):
		return report, fmt.Errorf("%d intruder posts acknowledged, %d removed", len(ids), t.IntruderRowsGone)
	case t.IntruderTextInRows > 0:
		return report, fmt.Errorf("%d removed rows still hold the plaintext in the database", t.IntruderTextInRows)
	}
	return report, r.stateInvariants(report, nil, nil)
}

// serverKillCase: SIGKILL to the server's process group (the server and its plugin processes,
// as when its machine dies) while clients post, keys are replaced and a channel's mode is
// switched; then build/mm-up.sh starts it again.
func (r *run) serverKillCase() (map[string]any, error) {
	rot := &rotation{}
	var er *epochRotation
	var killedAt, upAt time.Time
	r.withEpochs = true
	intr, total, err := r.faultRun(func() error {
		raw, err := os.ReadFile(os.Getenv("MM_PID_FILE"))
		if err != nil {
			return err
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil {
			return err
		}
		if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("killing the server's process group %d: %w", pid, err)
		}
		killedAt = time.Now()
		logf("killed the server (process group %d); starting it again with build/mm-up.sh", pid)
		time.Sleep(2 * time.Second)
		cmd := exec.Command(filepath.Join(r.root, "build/mm-up.sh"))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("mm-up.sh: %w", err)
		}
		upAt = time.Now()
		return readEnvFile(r.envFile)
	}, func(stop <-chan struct{}) *sync.WaitGroup {
		wg := rot.start(r)(stop)
		er = r.rotateEpochs(stop, wg)
		return wg
	})
	report := map[string]any{}
	if err != nil {
		return report, err
	}
	ids := intr.ackedIDs()
	var sweptAt time.Time
	if len(ids) > 0 {
		if sweptAt, err = r.waitSwept(ids, 2*time.Minute); err != nil {
			return report, err
		}
	}
	t, checkErr := r.exactlyOnce(ids)
	report = map[string]any{
		"posts": t, "wall_s": round(total.Seconds()), "server_down_s": round(upAt.Sub(killedAt).Seconds()),
		"intruder_plaintext_acked": len(ids), "swept": t.IntruderRowsGone,
		"key_pushes_acked": rot.acked, "key_pushes_unanswered": rot.unanswered,
		"mode_switches_acked": rot.modeAcked, "mode_switches_unanswered": rot.modeUnanswered,
	}
	if er != nil {
		report["epoch_commits_acked"], report["epoch_commits_unanswered"], report["epoch_commits_refused"] = er.commits, er.noAnswer, er.refused
	}
	if !sweptAt.IsZero() {
		report["all_swept_s_after_kill"] = round(sweptAt.Sub(killedAt).Seconds())
	}
	if checkErr != nil {
		return report, checkErr
	}
	if t.IntruderTextInRows > 0 {
		return report, fmt.Errorf("%d removed rows still hold the plaintext in the database", t.IntruderTextInRows)
	}
	if er != nil && len(er.refused) > 0 {
		return report, fmt.Errorf("the channel-key channel could not move on after the restart: %s", er.refused[0])
	}
	return report, r.stateInvariants(report, rot, er)
}

// pgRestartCase: the project-owned PostgreSQL cluster is stopped for pgDown and started again
// while clients post. Nothing may be acknowledged unchecked: no plaintext in an encrypted
// channel, and what the server could not check is refused with the plugin's error.
func (r *run) pgRestartCase() (map[string]any, error) {
	if os.Getenv("MM_PG_PRIVATE") != "1" || os.Getenv("MM_PG_PORT") == "5432" || os.Getenv("MM_PG_DATA") == "" {
		return nil, errors.New("refusing to restart a PostgreSQL this run did not start (MM_PG_PRIVATE=1, MM_PG_DATA and a port other than 5432 are required: build/faults.sh sets them)")
	}
	const pgDown = 10 * time.Second
	// Outages: [stopped, accepting connections again]. A post reaches the hook during an outage
	// only if the server's own permission check is answered from its caches (else it refuses
	// with 403 first); which users' caches are warm depends on the instant of the stop, so the
	// outage is repeated (at most 3 times) until the hook has refused something.
	var windows [][2]time.Time
	inWindow := func(t time.Time, slack time.Duration) bool {
		for _, w := range windows {
			if t.After(w[0]) && t.Before(w[1].Add(slack)) {
				return true
			}
		}
		return false
	}
	hookRefusals := func() int {
		r.mu.Lock()
		defer r.mu.Unlock()
		n := 0
		for _, o := range r.outcomes {
			if inWindow(o.at, 0) && strings.Contains(o.body, "the server could not check it") {
				n++
			}
		}
		return n
	}
	outage := func() error {
		var stoppedAt, startedAt time.Time
		bin := os.Getenv("MM_PG_BIN")
		stop := exec.Command("runuser", "-u", "postgres", "--", filepath.Join(bin, "pg_ctl"), "-D", os.Getenv("MM_PG_DATA"), "-m", "fast", "-w", "-t", "60", "stop")
		if os.Getuid() != 0 {
			stop = exec.Command(filepath.Join(bin, "pg_ctl"), "-D", os.Getenv("MM_PG_DATA"), "-m", "fast", "-w", "-t", "60", "stop")
		}
		stop.Stdout, stop.Stderr = os.Stderr, os.Stderr
		if err := stop.Run(); err != nil {
			return fmt.Errorf("stopping PostgreSQL: %w", err)
		}
		stoppedAt = time.Now()
		logf("PostgreSQL stopped; starting it again in %s", pgDown)
		time.Sleep(pgDown)
		start := exec.Command(filepath.Join(r.root, "build/postgres.sh"))
		start.Stdout, start.Stderr = os.Stderr, os.Stderr
		if err := start.Start(); err != nil {
			return fmt.Errorf("starting PostgreSQL: %w", err)
		}
		// Up is when it accepts connections again (postgres.sh goes on checking roles).
		addr := net.JoinHostPort(os.Getenv("MM_PG_HOST"), os.Getenv("MM_PG_PORT"))
		for startedAt.IsZero() {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				startedAt = time.Now()
			} else {
				time.Sleep(20 * time.Millisecond)
			}
		}
		windows = append(windows, [2]time.Time{stoppedAt, startedAt})
		if err := start.Wait(); err != nil {
			return fmt.Errorf("starting PostgreSQL: %w", err)
		}
		return nil
	}
	intr, total, err := r.faultRun(func() error {
		for range 3 {
			if err := outage(); err != nil {
				return err
			}
			if hookRefusals() > 0 {
				return nil
			}
			logf("no post reached the hook during that outage; once more in 3 s")
			time.Sleep(3 * time.Second)
		}
		return nil
	}, nil)
	report := map[string]any{}
	if err != nil {
		return report, err
	}
	// What the clients got while the database was away, and when posting worked again.
	var refusedByPlugin, refusedOther, noAnswer, ackedDown int
	var firstAckAfter time.Time
	samples := map[string]bool{}
	pluginSample := ""
	startedAt := windows[len(windows)-1][1]
	var downFor time.Duration
	for _, w := range windows {
		downFor += w[1].Sub(w[0])
	}
	for _, o := range r.outcomes {
		if inWindow(o.at, 0) {
			switch {
			case o.status == http.StatusCreated:
				ackedDown++
			case o.status != 0 && strings.Contains(o.body, "the server could not check it"):
				refusedByPlugin++
				pluginSample = "Your message was refused: the server could not check it."
			case o.status != 0:
				refusedOther++
				text := o.body
				if _, reason, ok := strings.Cut(text, "Your message was refused: "); ok {
					text, _, _ = strings.Cut(reason, `"`)
				} else if _, msg, ok := strings.Cut(text, `"message":"`); ok {
					text, _, _ = strings.Cut(msg, `"`)
				}
				samples[fmt.Sprintf("HTTP %d: %s", o.status, text)] = true
			default:
				noAnswer++
			}
		}
		if o.status == http.StatusCreated && o.at.After(startedAt) && (firstAckAfter.IsZero() || o.at.Before(firstAckAfter)) {
			firstAckAfter = o.at
		}
	}
	ids := intr.ackedIDs()
	intruderUnsure := 0
	for _, at := range intr.unsure {
		if inWindow(at, time.Second) {
			intruderUnsure++
		}
	}
	t, checkErr := r.exactlyOnce(ids)
	var other []string
	for s := range samples {
		other = append(other, s)
	}
	report = map[string]any{
		"posts": t, "wall_s": round(total.Seconds()), "pg_outages": len(windows), "pg_down_s": round(downFor.Seconds()),
		"while_down_refused_by_plugin_hook": refusedByPlugin, "while_down_refused_by_server": refusedOther,
		"while_down_no_answer": noAnswer, "while_down_acked": ackedDown, "refusal_samples": other,
		"plugin_refusal":           pluginSample,
		"intruder_plaintext_acked": len(ids), "intruder_refused_by_plugin_hook_while_down": intruderUnsure,
	}
	if !firstAckAfter.IsZero() {
		report["first_ack_s_after_pg_start"] = round(firstAckAfter.Sub(startedAt).Seconds())
	}
	switch {
	case checkErr != nil:
		return report, checkErr
	case len(ids) > 0:
		return report, fmt.Errorf("%d plaintext posts of the intruder were accepted in encrypted channels", len(ids))
	case refusedByPlugin+intruderUnsure == 0:
		return report, errors.New("no post was refused by the plugin's hook while the database was away (fail closed not exercised)")
	}
	return report, r.stateInvariants(report, nil, nil)
}

// rotation replaces the keys of two extra users and switches a channel's mode while the
// fault happens, recording what was acknowledged and what got no answer.
type rotation struct {
	mu             sync.Mutex
	users          []*user
	candidates     map[string][]map[string]string // user -> last acked key and later unanswered ones
	channel        string
	modes          []string // last acked mode, then unanswered ones
	acked          int
	unanswered     int
	modeAcked      int
	modeUnanswered int
}

func (rot *rotation) start(r *run) func(stop <-chan struct{}) *sync.WaitGroup {
	return func(stop <-chan struct{}) *sync.WaitGroup {
		var wg sync.WaitGroup
		rot.candidates = map[string][]map[string]string{}
		for i := 0; i < 2; i++ {
			u, err := r.newUser(fmt.Sprintf("%s-rot%d", r.prefix, i))
			if err != nil {
				logf("rotation user: %v", err)
				continue
			}
			rot.users = append(rot.users, u)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					rot.push(r, u)
					time.Sleep(300 * time.Millisecond)
				}
			}()
		}
		owner := r.users[0]
		ch, err := r.newChannel(owner, "Load mode switch", []*user{owner})
		if err != nil {
			logf("mode channel: %v", err)
			return &wg
		}
		rot.channel, rot.modes = ch, []string{"none"}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				mode := []string{"p2p", "none"}[n%2]
				status, _, err := r.setMethod(owner, ch, mode)
				rot.mu.Lock()
				switch {
				case err == nil && status == http.StatusOK:
					rot.modes = []string{mode}
					rot.modeAcked++
				case err != nil:
					rot.modes = append(rot.modes, mode)
					rot.modeUnanswered++
				}
				rot.mu.Unlock()
				time.Sleep(300 * time.Millisecond)
			}
		}()
		return &wg
	}
}

func (rot *rotation) push(r *run, u *user) {
	var n struct {
		Nonce string `json:"nonce"`
	}
	if r.must(u, "GET", r.plugin("/pubkey/nonce"), nil, http.StatusOK, &n) != nil {
		time.Sleep(500 * time.Millisecond)
		return
	}
	sign, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	encr, _ := ecdh.P256().GenerateKey(rand.Reader)
	rawSign, _ := sign.PublicKey.Bytes()
	pub := map[string]string{"sign": base64.StdEncoding.EncodeToString(rawSign), "encr": base64.StdEncoding.EncodeToString(encr.PublicKey().Bytes())}
	digest := sha256.Sum256([]byte("mm-e2ee/pubkey-push/v1\n" + u.id + "\n" + n.Nonce))
	sr, ss, _ := ecdsa.Sign(rand.Reader, sign, digest[:])
	proof := make([]byte, 64)
	sr.FillBytes(proof[:32])
	ss.FillBytes(proof[32:])
	status, _, err := r.call(u, "POST", r.plugin("/pubkey/push"), map[string]any{"pubkey": pub, "proof": base64.StdEncoding.EncodeToString(proof)}, nil)
	rot.mu.Lock()
	defer rot.mu.Unlock()
	switch {
	case err == nil && status == http.StatusOK:
		rot.candidates[u.id] = []map[string]string{pub}
		rot.acked++
	case err != nil:
		rot.candidates[u.id] = append(rot.candidates[u.id], pub)
		rot.unanswered++
	}
}

func keyIDHex(pub map[string]string) string {
	encr, _ := base64.StdEncoding.DecodeString(pub["encr"])
	sign, _ := base64.StdEncoding.DecodeString(pub["sign"])
	h := sha256.Sum256(append(encr, sign...))
	return hex.EncodeToString(h[:])
}

func kvGet(db *sql.DB, pluginID, key string) ([]byte, error) {
	var v []byte
	err := db.QueryRow(`SELECT PValue FROM PluginKeyValueStore WHERE PluginId = $1 AND PKey = $2`, pluginID, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return v, err
}

// stateInvariants, after a fault:
//   - keys: each user's current key (API) is the one last acknowledged, or one pushed later
//     without an answer; it is in the user's key history, and the owner index names the user
//     for it and for every key of the history;
//   - modes: the encrypted channels read p2p and have a sweep mark; the plain ones read none;
//     the switched channel reads its last acknowledged mode or a later unanswered one;
//   - epoch heads: every channel-key head in the KV store names an epoch whose record is stored
//     (and so does its previous epoch).
func (r *run) stateInvariants(report map[string]any, rot *rotation, er *epochRotation) error {
	db, err := openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	users := append([]*user{}, r.users...)
	if rot != nil {
		users = append(users, rot.users...)
	}
	var ids []string
	for _, u := range users {
		ids = append(ids, u.id)
	}
	var got struct {
		PubKeys map[string]map[string]string `json:"pubKeys"`
	}
	if err := r.must(r.admin, "POST", r.plugin("/pubkey/get"), map[string]any{"userIds": ids}, http.StatusOK, &got); err != nil {
		return err
	}
	var hist struct {
		History map[string][]struct {
			Pubkey map[string]string `json:"pubkey"`
		} `json:"history"`
	}
	if err := r.must(r.admin, "POST", r.plugin("/pubkey/history"), map[string]any{"userIds": ids}, http.StatusOK, &hist); err != nil {
		return err
	}
	keysChecked := 0
	for _, u := range users {
		cur := got.PubKeys[u.id]
		if cur == nil {
			bad("user %s has no key", u.name)
			continue
		}
		if rot != nil {
			if cands, ok := rot.candidates[u.id]; ok {
				found := false
				for _, c := range cands {
					found = found || (c["sign"] == cur["sign"] && c["encr"] == cur["encr"])
				}
				if !found {
					bad("user %s's key is neither the last acknowledged one nor a later unanswered push", u.name)
				}
			}
		}
		inHistory := false
		for _, h := range hist.History[u.id] {
			inHistory = inHistory || (h.Pubkey["sign"] == cur["sign"] && h.Pubkey["encr"] == cur["encr"])
			owner, err := kvGet(db, r.pluginID, "pubkey_owner:"+keyIDHex(h.Pubkey))
			if err != nil {
				return err
			}
			if string(owner) != u.id {
				bad("the owner index names %q for a key in %s's history", owner, u.name)
			}
			keysChecked++
		}
		if !inHistory {
			bad("user %s's current key is not in the key history", u.name)
		}
	}
	modes := map[string][]string{}
	for _, ch := range r.encChannels {
		modes[ch] = []string{"p2p"}
	}
	for _, ch := range r.plainChannels {
		modes[ch] = []string{"none"}
	}
	if rot != nil && rot.channel != "" {
		modes[rot.channel] = rot.modes
	}
	if r.ckChannel != "" {
		modes[r.ckChannel] = []string{"channel"}
	}
	for ch, want := range modes {
		var m struct {
			Method string `json:"method"`
		}
		owner := r.users[0]
		if ms := r.members[ch]; len(ms) > 0 {
			owner = ms[0]
		}
		if err := r.must(owner, "GET", r.plugin("/channel/encryption_method?chanID="+ch), nil, http.StatusOK, &m); err != nil {
			return err
		}
		ok := false
		for _, w := range want {
			ok = ok || w == m.Method
		}
		if !ok {
			bad("channel %s reads %q, want one of %v", ch, m.Method, want)
		}
		if m.Method != "none" {
			mark, err := kvGet(db, r.pluginID, "sweep:mark:"+ch)
			if err != nil {
				return err
			}
			if mark == nil {
				bad("encrypted channel %s has no sweep mark", ch)
			}
		}
	}
	rows, err := db.Query(`SELECT PKey, PValue FROM PluginKeyValueStore WHERE PluginId = $1 AND PKey LIKE 'e3head:%'`, r.pluginID)
	if err != nil {
		return err
	}
	heads := map[string][]byte{}
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return err
		}
		heads[k] = v
	}
	rows.Close()
	for k, v := range heads {
		var h struct {
			Epoch     uint64 `json:"epoch"`
			PrevEpoch uint64 `json:"prevEpoch"`
		}
		if err := json.Unmarshal(v, &h); err != nil || h.Epoch < 1 {
			bad("epoch head %s is unreadable", k)
			continue
		}
		ch := strings.TrimPrefix(k, "e3head:")
		for _, e := range []uint64{h.Epoch, h.PrevEpoch} {
			if e == 0 {
				continue
			}
			rec, err := kvGet(db, r.pluginID, fmt.Sprintf("e3rec:%s:%d", ch, e))
			if err != nil {
				return err
			}
			if rec == nil {
				bad("epoch head of %s names epoch %d, whose record is missing", ch, e)
			}
		}
	}
	inv := map[string]any{"users": len(users), "history_keys_owner_checked": keysChecked, "channels": len(modes), "epoch_heads": len(heads)}
	if er != nil && r.ckChannel != "" {
		head, err := r.checkEpochHead(er, bad)
		if err != nil {
			return err
		}
		inv["epoch_head"], inv["epoch_last_acked"] = head, er.acked
	}
	inv["ok"] = len(problems) == 0
	report["invariants"] = inv
	if len(problems) > 0 {
		return fmt.Errorf("state invariants: %s", strings.Join(problems, "; "))
	}
	return nil
}
