package main

// HTTP routes of channel-key mode (docs/api.md). The router checks ?chanID= first (inChannel);
// the query and body decoders are in api_decode.go and package e2eeformat.

import (
	"net/http"
	"net/url"
)

// bodyHandler serves a channel route that takes the request's query and whole body.
type bodyHandler func(userID, channelID string, q url.Values, body []byte) (any, error)

func withBody(h bodyHandler) channelHandler {
	return func(userID, channelID string, r *http.Request) (any, error) {
		body, err := readBody(r)
		if err != nil {
			return nil, err
		}
		return h(userID, channelID, r.URL.Query(), body)
	}
}

// POST /channel/epoch/part?chanID=&epoch=&tag=&part= with a JSON array of wraps.
func (p *Plugin) handleUploadPart(userID, channelID string, q url.Values, body []byte) (any, error) {
	pq, err := decodePartQuery(q)
	if err != nil {
		return nil, err
	}
	return done(p.uploadPart(userID, channelID, pq.Epoch, pq.Tag, pq.Index, body))
}

type commitResponse struct {
	Epoch uint64 `json:"epoch"`
}

// POST /channel/epoch?chanID= with the record's header form.
func (p *Plugin) handleCommitEpoch(userID, channelID string, _ url.Values, body []byte) (any, error) {
	head, err := p.commitEpoch(userID, channelID, body)
	if err != nil {
		return nil, err
	}
	return commitResponse{Epoch: head.Epoch}, nil
}

// POST /channel/epoch/joiners?chanID= with a joiner wraps set.
func (p *Plugin) handleAddJoiners(userID, channelID string, _ url.Values, body []byte) (any, error) {
	return done(p.addJoiners(userID, channelID, body))
}

// GET /channel/epoch?chanID=&epoch=
func (p *Plugin) handleReadEpoch(userID, channelID string, r *http.Request) (any, error) {
	epoch, err := decodeEpochQuery(r.URL.Query(), false)
	if err != nil {
		return nil, err
	}
	return p.readEpoch(userID, channelID, epoch)
}

// GET /channel/epoch/status?chanID=[&epoch=N]
func (p *Plugin) handleEpochStatus(userID, channelID string, r *http.Request) (any, error) {
	epoch, err := decodeEpochQuery(r.URL.Query(), true)
	if err != nil {
		return nil, err
	}
	return p.epochStatus(userID, channelID, epoch)
}

type historySharingResponse struct {
	HistorySharing bool `json:"historySharing"`
}

// POST /channel/history_sharing?chanID=&on=true|false
func (p *Plugin) handleHistorySharing(userID, channelID string, r *http.Request) (any, error) {
	on, err := decodeSwitchQuery(r.URL.Query())
	if err != nil {
		return nil, err
	}
	if err := p.setHistorySharing(userID, channelID, on); err != nil {
		return nil, err
	}
	return historySharingResponse{HistorySharing: on}, nil
}
