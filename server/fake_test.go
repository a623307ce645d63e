package main

import (
	"bytes"
	"net/http"
	"slices"
	"sort"
	"sync"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin/plugintest"
)

// fakeAPI is an in-memory Mattermost: a real KV with compare-and-set, channels, users,
// and a record of what the plugin sent. Calls it does not implement fall through to the
// plugintest mock, which fails the test.
type fakeAPI struct {
	plugintest.API

	mu          sync.Mutex
	kv          map[string][]byte
	users       map[string]*model.User
	channels    map[string]*model.Channel
	members     map[string][]string // channel ID -> user IDs
	perms       map[string]bool     // userID + ":" + permission ID
	admins      map[string]bool
	events      []fakeEvent
	posts       []*model.Post
	scrubbed    []string // post IDs blanked by scrubPost (sweep)
	ephemeral   []*model.Post
	ephemeralTo []string
	mails       []fakeMail
	files       map[string]*model.FileInfo
	kvFail      bool
	mailFail    bool
	logs        []string
}

type fakeEvent struct {
	Event     string
	Payload   map[string]any
	Broadcast *model.WebsocketBroadcast
}

type fakeMail struct{ To, Subject, Body string }

func newFakeAPI() *fakeAPI {
	return &fakeAPI{
		kv:       map[string][]byte{},
		users:    map[string]*model.User{},
		channels: map[string]*model.Channel{},
		members:  map[string][]string{},
		perms:    map[string]bool{},
		admins:   map[string]bool{},
		files:    map[string]*model.FileInfo{},
	}
}

var errKV = model.NewAppError("KV", "kv.fail", nil, "kv down", http.StatusInternalServerError)

func (f *fakeAPI) KVGet(key string) ([]byte, *model.AppError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.kvFail {
		return nil, errKV
	}
	v, ok := f.kv[key]
	if !ok {
		return nil, nil
	}
	return append([]byte(nil), v...), nil
}

func (f *fakeAPI) KVSet(key string, value []byte) *model.AppError {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.kvFail {
		return errKV
	}
	if value == nil {
		delete(f.kv, key)
	} else {
		f.kv[key] = append([]byte(nil), value...)
	}
	return nil
}

func (f *fakeAPI) KVDelete(key string) *model.AppError { return f.KVSet(key, nil) }

func (f *fakeAPI) KVCompareAndSet(key string, oldValue, newValue []byte) (bool, *model.AppError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.kvFail {
		return false, errKV
	}
	cur, exists := f.kv[key]
	if (oldValue == nil && exists) || (oldValue != nil && (!exists || !bytes.Equal(cur, oldValue))) {
		return false, nil
	}
	if newValue == nil {
		delete(f.kv, key)
	} else {
		f.kv[key] = append([]byte(nil), newValue...)
	}
	return true, nil
}

func (f *fakeAPI) KVCompareAndDelete(key string, oldValue []byte) (bool, *model.AppError) {
	return f.KVCompareAndSet(key, oldValue, nil)
}

func (f *fakeAPI) KVSetWithOptions(key string, value []byte, o model.PluginKVSetOptions) (bool, *model.AppError) {
	if o.Atomic {
		return f.KVCompareAndSet(key, o.OldValue, value)
	}
	return true, f.KVSet(key, value)
}

func (f *fakeAPI) GetFileInfo(id string) (*model.FileInfo, *model.AppError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fi, ok := f.files[id]; ok {
		c := *fi
		return &c, nil
	}
	return nil, model.NewAppError("GetFileInfo", "app.file_info.get.app_error", nil, "", http.StatusNotFound)
}

func (f *fakeAPI) addUser(id, name string, bot bool) *model.User {
	u := &model.User{Id: id, Username: name, Email: name + "@example.com", IsBot: bot}
	f.users[id] = u
	return u
}

func (f *fakeAPI) addChannel(id string, typ model.ChannelType, memberIDs ...string) {
	f.channels[id] = &model.Channel{Id: id, Type: typ}
	f.members[id] = memberIDs
}

func (f *fakeAPI) countActive() int {
	n := 0
	for _, u := range f.users {
		if u.DeleteAt == 0 && !u.IsBot {
			n++
		}
	}
	return n
}

// GetUsers answers Active/Inactive listings in ID order, page by page.
func (f *fakeAPI) GetUsers(o *model.UserGetOptions) ([]*model.User, *model.AppError) {
	ids := make([]string, 0, len(f.users))
	for id, u := range f.users {
		if (o.Inactive && u.DeleteAt == 0) || (o.Active && u.DeleteAt != 0) {
			continue
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []*model.User
	for i := o.Page * o.PerPage; i < len(ids) && i < (o.Page+1)*o.PerPage; i++ {
		out = append(out, f.users[ids[i]])
	}
	return out, nil
}

func (f *fakeAPI) GetChannelStats(channelID string) (*model.ChannelStats, *model.AppError) {
	return &model.ChannelStats{ChannelId: channelID, MemberCount: int64(len(f.members[channelID]))}, nil
}

// GetChannelsForTeamForUser with team "" lists all the user's channels, as the server does.
func (f *fakeAPI) GetChannelsForTeamForUser(_, userID string, _ bool) ([]*model.Channel, *model.AppError) {
	var out []*model.Channel
	for id, members := range f.members {
		if slices.Contains(members, userID) {
			out = append(out, f.channels[id])
		}
	}
	return out, nil
}

func (f *fakeAPI) GetUser(id string) (*model.User, *model.AppError) {
	if u, ok := f.users[id]; ok {
		return u, nil
	}
	return nil, model.NewAppError("GetUser", "user.missing", nil, "", http.StatusNotFound)
}

func (f *fakeAPI) GetUsersByIds(ids []string) ([]*model.User, *model.AppError) {
	var out []*model.User
	for _, id := range ids {
		if u, ok := f.users[id]; ok {
			out = append(out, u)
		}
	}
	return out, nil
}

func (f *fakeAPI) GetChannel(id string) (*model.Channel, *model.AppError) {
	if c, ok := f.channels[id]; ok {
		return c, nil
	}
	return nil, model.NewAppError("GetChannel", "channel.missing", nil, "", http.StatusNotFound)
}

func (f *fakeAPI) GetChannelMember(channelID, userID string) (*model.ChannelMember, *model.AppError) {
	for _, m := range f.members[channelID] {
		if m == userID {
			return &model.ChannelMember{ChannelId: channelID, UserId: userID}, nil
		}
	}
	return nil, model.NewAppError("GetChannelMember", "member.missing", nil, "", http.StatusNotFound)
}

func (f *fakeAPI) GetChannelMembers(channelID string, page, perPage int) (model.ChannelMembers, *model.AppError) {
	ids := f.members[channelID]
	var out model.ChannelMembers
	for i := page * perPage; i < len(ids) && i < (page+1)*perPage; i++ {
		out = append(out, model.ChannelMember{ChannelId: channelID, UserId: ids[i]})
	}
	return out, nil
}

func (f *fakeAPI) HasPermissionToChannel(userID, channelID string, p *model.Permission) bool {
	return f.perms[userID+":"+p.Id]
}

func (f *fakeAPI) HasPermissionTo(userID string, p *model.Permission) bool {
	return p.Id == model.PermissionManageSystem.Id && f.admins[userID]
}

func (f *fakeAPI) PublishWebSocketEvent(event string, payload map[string]any, b *model.WebsocketBroadcast) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, fakeEvent{event, payload, b})
}

func (f *fakeAPI) CreatePost(post *model.Post) (*model.Post, *model.AppError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.posts = append(f.posts, post)
	return post, nil
}

func (f *fakeAPI) SendEphemeralPost(userID string, post *model.Post) *model.Post {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ephemeral = append(f.ephemeral, post)
	f.ephemeralTo = append(f.ephemeralTo, userID)
	return post
}

func (f *fakeAPI) SendMail(to, subject, body string) *model.AppError {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mailFail {
		return model.NewAppError("SendMail", "mail.fail", nil, "smtp down", http.StatusInternalServerError)
	}
	f.mails = append(f.mails, fakeMail{to, subject, body})
	return nil
}

func (f *fakeAPI) LogError(msg string, kv ...any) { f.log("ERROR " + msg) }
func (f *fakeAPI) LogWarn(msg string, kv ...any)  { f.log("WARN " + msg) }
func (f *fakeAPI) LogInfo(msg string, kv ...any)  { f.log("INFO " + msg) }
func (f *fakeAPI) LogDebug(msg string, kv ...any) {}

func (f *fakeAPI) log(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, s)
}

// newTestPlugin returns an activated-enough plugin over a fake API with the default settings.
func newTestPlugin() (*Plugin, *fakeAPI) {
	api := newFakeAPI()
	p := &Plugin{}
	p.SetAPI(api)
	p.botUserID = "botbotbotbotbotbotbotbotbo"
	api.addUser(p.botUserID, botUsername, true)
	p.setConfiguration(&configuration{BotCanAlwaysPost: true, GPGKeyServer: "https://keys.openpgp.org"})
	p.router = p.newRouter()
	p.runInBackground = func(f func()) { f() }
	p.activeUsersCount = func() (int, error) { return api.countActive(), nil }
	return p, api
}
