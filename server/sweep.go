package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/pluginapi"
	"github.com/mattermost/mattermost/server/public/pluginapi/cluster"
)

// The sweep closes what the hooks cannot: the server runs no plugin hook while the plugin is
// not running (before OnActivate returns, while disabled, after its process crashed until the
// server restarts it), nor for post types it exempts (burn_on_read, burn_on_read.go). It
// re-checks every post of an encrypted channel changed since that channel's high-water mark,
// removes what the hooks would have refused, tells each author through the bot and the admin
// through the log, then advances the mark. It runs at each activation and every sweepInterval
// on one node of a cluster at a time (cluster mutex and job), so the gap it covers after a
// crash is the time since the last periodic run.
//
// KV: sweep:mark:<channelID> = decimal ms: every post of the channel last changed at or before
// it was checked (or predates encryption). sweep:last = start of the last complete sweep.
const (
	kvSweepMarkPrefix = "sweep:mark:"
	kvSweepLast       = "sweep:last"
	sweepMutexKey     = "sweep-lock"
	sweepJobKey       = "sweep"
	sweepInterval     = 5 * time.Minute
	// sweepMargin: a post stamped just before a sweep may be committed after its query, and
	// cluster clocks differ a little; such posts are checked again by the next sweep.
	sweepMargin   = time.Minute
	sweepPageSize = 200
	kvListPage    = 1000
)

// postRef is one post changed since a mark, as the database lists it.
type postRef struct {
	ID       string
	UpdateAt int64
}

// sweepRemoved is what one sweep removed, per channel, for the log and the authors.
type sweepRemoved struct {
	channelID string
	postIDs   []string
	authors   map[string]int
	failed    int
}

// markChannelEncrypted starts a channel's mark when encryption goes on: what was posted
// before is legitimately plaintext and is never swept.
func (p *Plugin) markChannelEncrypted(channelID string, at int64) {
	if appErr := p.API.KVSet(kvSweepMarkPrefix+channelID, []byte(strconv.FormatInt(at, 10))); appErr != nil {
		p.API.LogWarn("E2EE: cannot store the channel's sweep mark", "channel_id", channelID, "error", appErr.Error())
	}
}

// startSweeps runs the activation sweep in the background and schedules the periodic one.
func (p *Plugin) startSweeps(activatedAt int64) {
	ctx, cancel := context.WithCancel(context.Background())
	p.sweepCancel = cancel
	done, activated := make(chan struct{}), make(chan struct{})
	p.sweepDone, p.afterActivated = done, activated
	go func() {
		defer close(done)
		p.afterActivation(ctx, activatedAt)
		close(activated)
		if ctx.Err() != nil {
			return
		}
		job, err := cluster.Schedule(p.API, sweepJobKey, cluster.MakeWaitForInterval(sweepInterval), func() {
			p.sweepAll(ctx, "periodic", activatedAt)
		})
		if err != nil {
			p.API.LogError("E2EE: cannot schedule the periodic sweep of encrypted channels", "error", err.Error())
			return
		}
		<-ctx.Done()
		_ = job.Close()
	}()
}

// stopSweeps stops the background work (deactivation).
func (p *Plugin) stopSweeps() {
	if p.sweepCancel != nil {
		p.sweepCancel()
		<-p.sweepDone
		p.sweepCancel = nil
	}
}

// afterActivation is the slow part of activation: hooks already run while it does.
func (p *Plugin) afterActivation(ctx context.Context, activatedAt int64) {
	// An encrypted channel of the original plugin is unprotected until this copy: the sweep
	// that follows covers it from activatedAt.
	summary, _, err := p.runOriginalMigration(false)
	if err != nil {
		p.API.LogWarn("E2EE: migration from "+originalName+" did not run; it is retried at the next activation or with /e2ee migrate", "error", err.Error())
	}
	// Counters for the admin view: built once, and again when a migration copied data.
	p.ensureStats(summary.Pubkeys.Copied+summary.Channels.Copied > 0)
	p.warnAboutDrafts()
	p.warnAboutBurnOnRead()
	p.sweepAll(ctx, "activation", activatedAt)
	// Keys stored without the owner index (before this version, or by an older one).
	if ctx.Err() == nil {
		if err := p.indexKeyOwners(); err != nil {
			p.API.LogWarn("E2EE: indexing the owners of stored public keys failed; retried at the next activation", "error", err.Error())
		}
	}
}

// sweepAll sweeps every encrypted channel, one node at a time.
func (p *Plugin) sweepAll(ctx context.Context, why string, activatedAt int64) {
	mutex, err := cluster.NewMutex(p.API, sweepMutexKey)
	if err != nil {
		p.API.LogError("E2EE: cannot create the sweep lock", "error", err.Error())
		return
	}
	if err := mutex.LockWithContext(ctx); err != nil {
		return
	}
	defer mutex.Unlock()

	started := model.GetMillis()
	channels, err := p.encryptedChannels()
	if err != nil {
		p.API.LogError("E2EE: cannot list encrypted channels for the sweep", "error", err.Error())
		return
	}
	fallback := p.sweepFallback(activatedAt)
	lister, closeLister := p.changedPostsLister()
	defer closeLister()
	total, complete := 0, true
	for _, channelID := range channels {
		if ctx.Err() != nil {
			return
		}
		n, err := p.sweepChannel(channelID, started, fallback, lister)
		total += n
		if err != nil {
			complete = false
			p.API.LogError("E2EE: sweep of an encrypted channel failed; retried at the next sweep", "channel_id", channelID, "error", err.Error())
		}
	}
	if complete {
		if appErr := p.API.KVSet(kvSweepLast, []byte(strconv.FormatInt(started-sweepMargin.Milliseconds(), 10))); appErr != nil {
			p.API.LogWarn("E2EE: cannot record the sweep", "error", appErr.Error())
		}
	}
	p.API.LogDebug("E2EE: sweep of encrypted channels done", "why", why, "channels", len(channels), "removed", total, "ms", model.GetMillis()-started)
}

// sweepFallback is the mark of an encrypted channel that has none yet (encrypted by an older
// version, or copied from the original plugin): the last complete sweep, else this activation.
func (p *Plugin) sweepFallback(activatedAt int64) int64 {
	if raw, appErr := p.API.KVGet(kvSweepLast); appErr == nil && raw != nil {
		if v, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return v
		}
	}
	return activatedAt - sweepMargin.Milliseconds()
}

// encryptedChannels lists the channels whose stored method is p2p (or unreadable, fail closed).
func (p *Plugin) encryptedChannels() ([]string, error) {
	var out []string
	for page := 0; ; page++ {
		keys, appErr := p.API.KVList(page, kvListPage)
		if appErr != nil {
			return nil, fmt.Errorf("listing the KV store: %w", appErr)
		}
		for _, k := range keys {
			if id, ok := strings.CutPrefix(k, kvChanMethodPrefix); ok && p.channelEncrypted(id) {
				out = append(out, id)
			}
		}
		if len(keys) < kvListPage {
			break
		}
	}
	sort.Strings(out)
	return out, nil
}

// changedPosts lists up to limit live posts of a channel changed after (afterUpdate, afterID),
// in (UpdateAt, Id) order; afterID "" means after afterUpdate itself.
type changedPosts func(channelID string, afterUpdate int64, afterID string, limit int) ([]postRef, error)

// changedPostsLister reads the server's Posts table: the plugin API's GetPostsSince returns
// an unordered, truncated set (LIMIT 1000 without ORDER BY), which cannot be paged.
func (p *Plugin) changedPostsLister() (changedPosts, func()) {
	if p.listChangedPosts != nil {
		return p.listChangedPosts, func() {}
	}
	client := pluginapi.NewClient(p.API, p.Driver)
	var db *sql.DB
	var openErr error
	if p.Driver == nil {
		openErr = errors.New("no database driver available to the plugin")
	}
	list := func(channelID string, afterUpdate int64, afterID string, limit int) ([]postRef, error) {
		if db == nil && openErr == nil {
			db, openErr = client.Store.GetMasterDB()
		}
		if openErr != nil {
			return nil, fmt.Errorf("opening the database: %w", openErr)
		}
		return queryChangedPosts(db, client.Store.DriverName(), channelID, afterUpdate, afterID, limit)
	}
	return list, func() {
		if db != nil {
			_ = client.Store.Close()
		}
	}
}

func queryChangedPosts(db *sql.DB, driverName, channelID string, afterUpdate int64, afterID string, limit int) ([]postRef, error) {
	q := `SELECT Id, UpdateAt FROM Posts WHERE ChannelId = $1 AND DeleteAt = 0
		AND (UpdateAt > $2 OR (UpdateAt = $3 AND Id > $4 AND $5 <> ''))
		ORDER BY UpdateAt, Id LIMIT $6`
	if driverName == "mysql" {
		for i := 6; i >= 1; i-- {
			q = strings.ReplaceAll(q, "$"+strconv.Itoa(i), "?")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := db.QueryContext(ctx, q, channelID, afterUpdate, afterUpdate, afterID, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("listing changed posts: %w", err)
	}
	defer rows.Close()
	var out []postRef
	for rows.Next() {
		var r postRef
		if err := rows.Scan(&r.ID, &r.UpdateAt); err != nil {
			return nil, fmt.Errorf("listing changed posts: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// sweepChannel checks one channel's posts changed since its mark and advances the mark.
func (p *Plugin) sweepChannel(channelID string, started, fallback int64, list changedPosts) (int, error) {
	key := kvSweepMarkPrefix + channelID
	raw, appErr := p.API.KVGet(key)
	if appErr != nil {
		return 0, fmt.Errorf("reading the sweep mark: %w", appErr)
	}
	mark := fallback
	if raw != nil {
		if v, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			mark = v
		}
	}
	removed := sweepRemoved{channelID: channelID, authors: map[string]int{}}
	afterUpdate, afterID := mark, ""
	var firstErr error
	for {
		refs, err := list(channelID, afterUpdate, afterID, sweepPageSize)
		if err != nil {
			return p.reportSweep(removed), err
		}
		for _, ref := range refs {
			if err := p.sweepPost(ref.ID, mark, &removed); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		if len(refs) < sweepPageSize {
			break
		}
		last := refs[len(refs)-1]
		afterUpdate, afterID = last.UpdateAt, last.ID
	}
	n := p.reportSweep(removed)
	if firstErr != nil || removed.failed > 0 {
		if firstErr == nil {
			firstErr = errors.New("some posts could not be removed")
		}
		return n, firstErr // the mark stays: the next sweep tries again
	}
	// Forward only, and not over a concurrent change (encryption turned on again).
	next := started - sweepMargin.Milliseconds()
	if next > mark {
		if _, appErr := p.API.KVCompareAndSet(key, raw, []byte(strconv.FormatInt(next, 10))); appErr != nil {
			return n, fmt.Errorf("storing the sweep mark: %w", appErr)
		}
	}
	return n, nil
}

// sweepPost removes one post if the hooks would have refused it.
func (p *Plugin) sweepPost(postID string, mark int64, removed *sweepRemoved) error {
	post, appErr := p.API.GetPost(postID)
	if appErr != nil {
		return fmt.Errorf("reading a post: %w", appErr)
	}
	verdict := p.sweepVerdict(post, mark)
	if verdict == nil {
		return nil
	}
	var rejected *PostRejectedError
	if !errors.As(verdict, &rejected) {
		return verdict // a KV error: judge again next time rather than remove
	}
	if appErr := p.API.DeletePost(post.Id); appErr != nil {
		removed.failed++
		p.API.LogError("E2EE: cannot remove a post that is not allowed in an encrypted channel", "post_id", post.Id, "channel_id", post.ChannelId, "error", appErr.Error())
		return nil
	}
	if err := p.scrubRemoved(post.Id); err != nil {
		p.API.LogError("E2EE: a removed post's text is still in the database (soft-deleted row)", "post_id", post.Id, "channel_id", post.ChannelId, "error", err.Error())
	}
	removed.postIDs = append(removed.postIDs, post.Id)
	removed.authors[post.UserId]++
	return nil
}

// scrubRemoved blanks the text of a post the sweep removed, and of its earlier versions: the
// server's delete only marks the row (DeleteAt) and keeps Message and Props, so the plaintext
// would stay in the database.
func (p *Plugin) scrubRemoved(postID string) error {
	if p.scrubRemovedPost != nil {
		return p.scrubRemovedPost(postID)
	}
	if p.Driver == nil {
		return errors.New("no database driver available to the plugin")
	}
	client := pluginapi.NewClient(p.API, p.Driver)
	db, err := client.Store.GetMasterDB()
	if err != nil {
		return fmt.Errorf("opening the database: %w", err)
	}
	defer func() { _ = client.Store.Close() }()
	return scrubPostRows(db, client.Store.DriverName(), postID)
}

// scrubPostRows: only a deleted row, and the edit history rows of that post (OriginalId).
func scrubPostRows(db *sql.DB, driverName, postID string) error {
	q := `UPDATE Posts SET Message = '', Props = '{}', Hashtags = ''
		WHERE (Id = $1 AND DeleteAt <> 0) OR (OriginalId = $2 AND OriginalId <> '')`
	if driverName == "mysql" {
		q = strings.NewReplacer("$1", "?", "$2", "?").Replace(q)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := db.ExecContext(ctx, q, postID, postID); err != nil {
		return fmt.Errorf("blanking the removed post: %w", err)
	}
	return nil
}

// sweepVerdict: nil if post may stay, else why the hooks would have refused it. Posts neither
// created nor edited since the mark were checked then (or predate encryption), except that
// encrypted posts are checked whenever they changed: props can change without an edit mark.
func (p *Plugin) sweepVerdict(post *model.Post, mark int64) error {
	if post.DeleteAt != 0 {
		return nil
	}
	changedSinceMark := max(post.CreateAt, post.EditAt) > mark
	if post.Type == burnOnReadPostType {
		if !changedSinceMark || p.passesUnencrypted(post) {
			return nil
		}
		return &PostRejectedError{Reason: "burn-on-read messages are not encrypted and skip the plugin's checks"}
	}
	if post.Type == encryptedPostType {
		return p.sweepEncrypted(post, changedSinceMark)
	}
	if !changedSinceMark || p.passesUnencrypted(post) {
		return nil
	}
	return &PostRejectedError{Reason: "the message is not encrypted"}
}

// sweepEncrypted judges an encrypted post. Its shape (placeholder, only encrypted files, no other props) is
// checked as the hooks do: anything else could carry text. Its signature may be by any key its
// author has registered (key history): the author may have replaced the key since posting. A
// post that was only touched since the mark (a reply, a pin) and no longer verifies (or whose
// author has no key now) is reported but left: it was checked when posted, and its key may have
// aged out of the history.
func (p *Plugin) sweepEncrypted(post *model.Post, changedSinceMark bool) error {
	e2ee, err := checkEncryptedShape(post)
	if err != nil {
		return err
	}
	if err := p.checkEncryptedPostFiles(post); err != nil {
		return err
	}
	history, err := p.store().getHistory(post.UserId)
	if err != nil {
		return err
	}
	ctx := messageContext{ChannelID: post.ChannelId, RootID: post.RootId, UserID: post.UserId}
	var verr error = &PostRejectedError{Reason: "its author has no registered key"}
	for i := range history {
		if verr = p.verifyStoredMessage(e2ee, &history[i].Pubkey, ctx); verr == nil {
			return nil
		}
	}
	if !changedSinceMark && (len(history) == 0 || isSignatureMismatch(verr)) {
		p.API.LogWarn("E2EE: an encrypted post changed since the last sweep does not verify with any registered key of its author; left in place, as it was checked when posted", "post_id", post.Id, "channel_id", post.ChannelId)
		return nil
	}
	return &PostRejectedError{Reason: verr.Error()}
}

// isSignatureMismatch: a well-formed message whose signature does not verify (message.go's
// wording), as opposed to a malformed one, which could carry text.
func isSignatureMismatch(err error) bool {
	var inv *InvalidMessageError
	return errors.As(err, &inv) && strings.HasPrefix(inv.Reason, "the signature does not verify")
}

// reportSweep logs what was removed from a channel (IDs, never text) and tells each author.
func (p *Plugin) reportSweep(r sweepRemoved) int {
	if len(r.postIDs) == 0 {
		return 0
	}
	p.API.LogWarn("E2EE: removed posts that reached an encrypted channel unchecked (while the plugin was not running, or of a type the server exempts from plugin checks)",
		"channel_id", r.channelID, "count", len(r.postIDs), "post_ids", strings.Join(r.postIDs, ","))
	channelName := r.channelID
	if ch, appErr := p.API.GetChannel(r.channelID); appErr == nil && ch.DisplayName != "" {
		channelName = ch.DisplayName
	}
	authors := make([]string, 0, len(r.authors))
	for a := range r.authors {
		authors = append(authors, a)
	}
	sort.Strings(authors)
	for _, author := range authors {
		if author == p.botUserID || p.botUserID == "" {
			continue
		}
		p.tellAuthor(author, fmt.Sprintf("%d of your messages in the end-to-end encrypted channel \"%s\" were removed: they were not encrypted, and reached the server while the E2EE plugin could not check them. Post them again from the Mattermost web or desktop app, which encrypts them.", r.authors[author], channelName))
	}
	return len(r.postIDs)
}

// tellAuthor sends a direct message from the bot: the author may be offline, so an ephemeral
// message would be lost. It never quotes the removed text.
func (p *Plugin) tellAuthor(userID, msg string) {
	dm, appErr := p.API.GetDirectChannel(userID, p.botUserID)
	if appErr != nil {
		p.API.LogWarn("E2EE: cannot open a direct message to tell an author", "user_id", userID, "error", appErr.Error())
		return
	}
	if _, appErr := p.API.CreatePost(&model.Post{UserId: p.botUserID, ChannelId: dm.Id, Message: msg}); appErr != nil {
		p.API.LogWarn("E2EE: cannot tell an author that posts were removed", "user_id", userID, "error", appErr.Error())
	}
}
