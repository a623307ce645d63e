package main

import (
	"net/http"
	"sort"

	"github.com/mattermost/mattermost/server/public/model"
)

// The fake's stored posts for the sweep: api.posts, found by ID.

func (f *fakeAPI) KVList(page, perPage int) ([]string, *model.AppError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.kvFail {
		return nil, errKV
	}
	keys := make([]string, 0, len(f.kv))
	for k := range f.kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lo, hi := min(page*perPage, len(keys)), min((page+1)*perPage, len(keys))
	return keys[lo:hi], nil
}

func (f *fakeAPI) GetPost(id string) (*model.Post, *model.AppError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.posts {
		if p.Id == id {
			return p.Clone(), nil
		}
	}
	return nil, model.NewAppError("GetPost", "post.missing", nil, "", http.StatusNotFound)
}

func (f *fakeAPI) DeletePost(id string) *model.AppError {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.posts {
		if p.Id == id && p.DeleteAt == 0 {
			p.DeleteAt = model.GetMillis()
			p.UpdateAt = p.DeleteAt
			return nil
		}
	}
	return model.NewAppError("DeletePost", "post.missing", nil, "", http.StatusNotFound)
}

// scrubPost blanks a deleted post's row, as scrubPostRows does in the Posts table.
func (f *fakeAPI) scrubPost(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.posts {
		if p.Id == id && p.DeleteAt != 0 {
			p.Message = ""
			p.SetProps(map[string]any{})
			f.scrubbed = append(f.scrubbed, id)
		}
	}
	return nil
}

func (f *fakeAPI) GetDirectChannel(a, b string) (*model.Channel, *model.AppError) {
	return &model.Channel{Id: "dm_" + a + "_" + b, Type: model.ChannelTypeDirect}, nil
}

// changedPosts lists the fake's live posts as the Posts table query does.
func (f *fakeAPI) changedPosts(channelID string, afterUpdate int64, afterID string, limit int) ([]postRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.kvFail {
		return nil, errKV
	}
	var out []postRef
	for _, p := range f.posts {
		if p.ChannelId != channelID || p.DeleteAt != 0 {
			continue
		}
		if p.UpdateAt > afterUpdate || (afterID != "" && p.UpdateAt == afterUpdate && p.Id > afterID) {
			out = append(out, postRef{ID: p.Id, UpdateAt: p.UpdateAt})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].UpdateAt != out[j].UpdateAt {
			return out[i].UpdateAt < out[j].UpdateAt
		}
		return out[i].ID < out[j].ID
	})
	return out[:min(limit, len(out))], nil
}
