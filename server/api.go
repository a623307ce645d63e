package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

const (
	apiPrefix        = "/api/v1"
	maxBodyBytes     = 64 * 1024
	maxUserIDsPerGet = 1000
	// Each history is up to 20 keys: fewer users per request keep the answer small.
	maxUserIDsPerHistory = 200
)

// APIError is an error with the HTTP status it maps to; its message is shown to the user.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Message }

func apiErr(status int, msg string) *APIError { return &APIError{Status: status, Message: msg} }

type handlerFunc func(userID string, r *http.Request) (any, error)

type route struct {
	method  string
	handler handlerFunc
}

// newRouter maps "/api/v1/<path>" to handlers; every route needs a Mattermost session.
func (p *Plugin) newRouter() http.Handler {
	routes := map[string][]route{
		"/pubkey/push":               {{http.MethodPost, p.handlePushPubkey}},
		"/pubkey/nonce":              {{http.MethodGet, p.handleNonce}},
		"/pubkey/get":                {{http.MethodPost, p.handleGetPubkeys}},
		"/pubkey/history":            {{http.MethodPost, p.handleKeyHistory}},
		"/channel/encryption_method": {{http.MethodGet, p.handleGetMethod}, {http.MethodPost, p.handleSetMethod}},
		"/channel/status":            {{http.MethodGet, p.handleChannelStatus}},
		"/gpg/key_server":            {{http.MethodGet, p.handleKeyServer}},
		"/channel/epoch":             {{http.MethodGet, p.handleReadEpoch}, {http.MethodPost, p.handleCommitEpoch}},
		"/channel/epoch/part":        {{http.MethodPost, p.handleUploadPart}},
		"/channel/epoch/status":      {{http.MethodGet, p.handleEpochStatus}},
		"/channel/epoch/joiners":     {{http.MethodPost, p.handleAddJoiners}},
		"/channel/history_sharing":   {{http.MethodPost, p.handleHistorySharing}},
		"/admin/stats":               {{http.MethodGet, p.handleAdminStats}},
		"/admin/stats/recount":       {{http.MethodPost, p.handleAdminRecount}},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, ok := strings.CutPrefix(r.URL.Path, apiPrefix)
		candidates, found := routes[path]
		if !ok || !found {
			writeError(w, apiErr(http.StatusNotFound, "no such route"))
			return
		}
		// The server sets this header only for a valid session (and strips any sent by the client).
		userID := r.Header.Get("Mattermost-User-Id")
		if userID == "" {
			writeError(w, apiErr(http.StatusUnauthorized, "not authenticated"))
			return
		}
		for _, rt := range candidates {
			if rt.method == r.Method {
				r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
				res, err := rt.handler(userID, r)
				if err != nil {
					p.writeHandlerError(w, r, err)
					return
				}
				writeJSON(w, http.StatusOK, res)
				return
			}
		}
		writeError(w, apiErr(http.StatusMethodNotAllowed, "method not allowed"))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *APIError) {
	writeJSON(w, e.Status, map[string]string{"error": e.Message})
}

func (p *Plugin) writeHandlerError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *APIError
	if errors.As(err, &ae) {
		writeError(w, ae)
		return
	}
	if errors.Is(err, errConflict) {
		writeError(w, apiErr(http.StatusConflict, err.Error()))
		return
	}
	p.API.LogError("E2EE: request failed", "path", r.URL.Path, "error", err.Error())
	writeError(w, apiErr(http.StatusInternalServerError, "internal error"))
}

// decodeBody reads one JSON object, refusing unknown or repeated fields, trailing data and
// oversized bodies.
func decodeBody(r *http.Request, out any) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apiErr(http.StatusRequestEntityTooLarge, "request body too large")
		}
		return apiErr(http.StatusBadRequest, "cannot read the request body")
	}
	if err := e2eeformat.StrictDecode(data, out); err != nil {
		return apiErr(http.StatusBadRequest, "malformed JSON body: "+err.Error())
	}
	return nil
}

type pushRequest struct {
	Pubkey    *PublicKey `json:"pubkey"`
	BackupGPG *string    `json:"backupGPG"`
	Proof     *string    `json:"proof"` // signature over a nonce from GET /pubkey/nonce (keyproof.go)
}

func (p *Plugin) handlePushPubkey(userID string, r *http.Request) (any, error) {
	var req pushRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := p.pushPubkey(userID, req.Pubkey, req.BackupGPG, req.Proof); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type getRequest struct {
	UserIDs []string `json:"userIds"`
}

type getResponse struct {
	PubKeys map[string]*PublicKey `json:"pubKeys"`
}

func (p *Plugin) handleGetPubkeys(_ string, r *http.Request) (any, error) {
	var req getRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.UserIDs == nil {
		return nil, apiErr(http.StatusBadRequest, "userIds is required")
	}
	if len(req.UserIDs) > maxUserIDsPerGet {
		return nil, apiErr(http.StatusBadRequest, "at most 1000 userIds per request")
	}
	for _, id := range req.UserIDs {
		if !model.IsValidId(id) {
			return nil, apiErr(http.StatusBadRequest, "invalid user ID in userIds")
		}
	}
	keys, err := p.store().getPubkeys(req.UserIDs)
	if err != nil {
		return nil, err
	}
	return getResponse{PubKeys: keys}, nil
}

// userIDsParam validates a request's userIds list: present, at most max, all Mattermost IDs.
func userIDsParam(ids []string, max int) error {
	if ids == nil {
		return apiErr(http.StatusBadRequest, "userIds is required")
	}
	if len(ids) > max {
		return apiErr(http.StatusBadRequest, fmt.Sprintf("at most %d userIds per request", max))
	}
	for _, id := range ids {
		if !model.IsValidId(id) {
			return apiErr(http.StatusBadRequest, "invalid user ID in userIds")
		}
	}
	return nil
}

type historyResponse struct {
	History map[string][]KeyHistoryEntry `json:"history"`
}

// handleKeyHistory answers every key each user registered, oldest first, so that posts
// signed before a key change can still be verified.
func (p *Plugin) handleKeyHistory(_ string, r *http.Request) (any, error) {
	var req getRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := userIDsParam(req.UserIDs, maxUserIDsPerHistory); err != nil {
		return nil, err
	}
	history, err := p.store().getHistories(req.UserIDs)
	if err != nil {
		return nil, err
	}
	return historyResponse{History: history}, nil
}

func channelParam(r *http.Request) (string, error) {
	id := r.URL.Query().Get("chanID")
	if !model.IsValidId(id) {
		return "", apiErr(http.StatusBadRequest, "chanID must be a channel ID")
	}
	return id, nil
}

type methodResponse struct {
	Method string `json:"method"`
	// TurnedOff: who last turned an unencrypted channel's encryption off, when known.
	TurnedOff *TurnedOff `json:"turned_off,omitempty"`
}

func (p *Plugin) handleGetMethod(userID string, r *http.Request) (any, error) {
	channelID, err := channelParam(r)
	if err != nil {
		return nil, err
	}
	if _, err := p.memberChannel(userID, channelID); err != nil {
		return nil, err
	}
	m, err := p.store().getMethod(channelID)
	if err != nil {
		return nil, err
	}
	off, err := p.turnedOffFor(channelID, m)
	if err != nil {
		return nil, err
	}
	return methodResponse{Method: methodName(m), TurnedOff: off}, nil
}

func (p *Plugin) handleSetMethod(userID string, r *http.Request) (any, error) {
	channelID, err := channelParam(r)
	if err != nil {
		return nil, err
	}
	name := r.URL.Query().Get("method")
	method, ok := parseMethod(name)
	if name == "auto" {
		if method, err = p.autoMethod(userID, channelID); err != nil {
			return nil, err
		}
	} else if !ok {
		return nil, apiErr(http.StatusBadRequest, `method must be "none", "p2p", "channel" or "auto"`)
	}
	if err := p.changeMethod(userID, channelID, method); err != nil {
		return nil, err
	}
	return methodResponse{Method: methodName(method)}, nil
}

// autoMethod: "auto" turns encryption on in the mode the server chooses (as /e2ee start without
// --mode and the policy do); an encrypted channel keeps its mode.
func (p *Plugin) autoMethod(userID, channelID string) (int, error) {
	if _, err := p.memberChannel(userID, channelID); err != nil {
		return 0, err
	}
	current, err := p.store().getMethod(channelID)
	if err != nil {
		return 0, err
	}
	if current != methodNone {
		return current, nil
	}
	return p.startMode(channelID, nil)
}

type statusResponse struct {
	Method            string     `json:"method"`
	MembersWithoutKey []string   `json:"members_without_key"`
	CanChange         bool       `json:"can_change"`
	TurnedOff         *TurnedOff `json:"turned_off,omitempty"`
}

func (p *Plugin) handleChannelStatus(userID string, r *http.Request) (any, error) {
	channelID, err := channelParam(r)
	if err != nil {
		return nil, err
	}
	ch, err := p.memberChannel(userID, channelID)
	if err != nil {
		return nil, err
	}
	m, err := p.store().getMethod(channelID)
	if err != nil {
		return nil, err
	}
	without, err := p.membersWithoutKey(channelID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(without))
	for _, u := range without {
		ids = append(ids, u.Id)
	}
	off, err := p.turnedOffFor(channelID, m)
	if err != nil {
		return nil, err
	}
	return statusResponse{Method: methodName(m), MembersWithoutKey: ids, CanChange: p.canChangeMethod(userID, ch), TurnedOff: off}, nil
}

type keyServerResponse struct {
	URL string `json:"url"`
}

func (p *Plugin) handleKeyServer(string, *http.Request) (any, error) {
	return keyServerResponse{URL: p.getConfiguration().GPGKeyServer}, nil
}
