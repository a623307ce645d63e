package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
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
		"/channel/encryption_method": {{http.MethodGet, inChannel(p.handleGetMethod)}, {http.MethodPost, inChannel(p.handleSetMethod)}},
		"/channel/status":            {{http.MethodGet, inChannel(p.handleChannelStatus)}},
		"/gpg/key_server":            {{http.MethodGet, p.handleKeyServer}},
		"/channel/epoch":             {{http.MethodGet, inChannel(p.handleReadEpoch)}, {http.MethodPost, inChannel(withBody(p.handleCommitEpoch))}},
		"/channel/epoch/part":        {{http.MethodPost, inChannel(withBody(p.handleUploadPart))}},
		"/channel/epoch/status":      {{http.MethodGet, inChannel(p.handleEpochStatus)}},
		"/channel/epoch/joiners":     {{http.MethodPost, inChannel(withBody(p.handleAddJoiners))}},
		"/channel/history_sharing":   {{http.MethodPost, inChannel(p.handleHistorySharing)}},
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

// readBody reads the request body; the router caps it at maxBodyBytes.
func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apiErr(http.StatusRequestEntityTooLarge, "request body too large")
		}
		return nil, apiErr(http.StatusBadRequest, "cannot read the request body")
	}
	return data, nil
}

func (p *Plugin) handlePushPubkey(userID string, r *http.Request) (any, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	req, err := decodePushRequest(body, p.getConfiguration().GPGKeyServer != "")
	if err != nil {
		return nil, err
	}
	return done(p.pushPubkey(userID, req))
}

// done is the answer of a route that returns nothing but success or an error.
func done(err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type getResponse struct {
	PubKeys map[string]*PublicKey `json:"pubKeys"`
}

func (p *Plugin) handleGetPubkeys(_ string, r *http.Request) (any, error) {
	ids, err := userIDsBody(r, maxUserIDsPerGet)
	if err != nil {
		return nil, err
	}
	keys, err := p.store().getPubkeys(ids)
	if err != nil {
		return nil, err
	}
	return getResponse{PubKeys: keys}, nil
}

func userIDsBody(r *http.Request, max int) ([]string, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	return decodeUserIDsRequest(body, max)
}

type historyResponse struct {
	History map[string][]KeyHistoryEntry `json:"history"`
}

// handleKeyHistory answers every key each user registered, oldest first, so that posts
// signed before a key change can still be verified.
func (p *Plugin) handleKeyHistory(_ string, r *http.Request) (any, error) {
	ids, err := userIDsBody(r, maxUserIDsPerHistory)
	if err != nil {
		return nil, err
	}
	history, err := p.store().getHistories(ids)
	if err != nil {
		return nil, err
	}
	return historyResponse{History: history}, nil
}

// channelHandler serves a route about one channel, ?chanID= (checked first).
type channelHandler func(userID, channelID string, r *http.Request) (any, error)

func inChannel(h channelHandler) handlerFunc {
	return func(userID string, r *http.Request) (any, error) {
		channelID, err := decodeChannelQuery(r.URL.Query())
		if err != nil {
			return nil, err
		}
		return h(userID, channelID, r)
	}
}

type methodResponse struct {
	Method string `json:"method"`
	// TurnedOff: who last turned an unencrypted channel's encryption off, when known.
	TurnedOff *TurnedOff `json:"turned_off,omitempty"`
}

func (p *Plugin) handleGetMethod(userID, channelID string, r *http.Request) (any, error) {
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

func (p *Plugin) handleSetMethod(userID, channelID string, r *http.Request) (any, error) {
	name := r.URL.Query().Get("method")
	method, ok := parseMethod(name)
	if name == "auto" {
		var err error
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

func (p *Plugin) handleChannelStatus(userID, channelID string, r *http.Request) (any, error) {
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
