package main

// HTTP routes of channel-key mode (docs/api.md).

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

func readRawBody(r *http.Request) ([]byte, error) {
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

func epochParam(r *http.Request, name string) (uint64, error) {
	v, err := strconv.ParseUint(r.URL.Query().Get(name), 10, 64)
	if err != nil || v < 1 || v > e2eeformat.MaxSafeInteger {
		return 0, apiErr(http.StatusBadRequest, name+" must be an epoch number (integer >= 1)")
	}
	return v, nil
}

// POST /channel/epoch/part?chanID=&epoch=&tag=&part= with a JSON array of wraps.
func (p *Plugin) handleUploadPart(userID string, r *http.Request) (any, error) {
	channelID, err := channelParam(r)
	if err != nil {
		return nil, err
	}
	epoch, err := epochParam(r, "epoch")
	if err != nil {
		return nil, err
	}
	index, err := strconv.Atoi(r.URL.Query().Get("part"))
	if err != nil {
		return nil, apiErr(http.StatusBadRequest, "part must be a part index")
	}
	body, err := readRawBody(r)
	if err != nil {
		return nil, err
	}
	if err := p.uploadPart(userID, channelID, epoch, r.URL.Query().Get("tag"), index, body); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type commitResponse struct {
	Epoch uint64 `json:"epoch"`
}

// POST /channel/epoch?chanID= with the record's header form.
func (p *Plugin) handleCommitEpoch(userID string, r *http.Request) (any, error) {
	channelID, err := channelParam(r)
	if err != nil {
		return nil, err
	}
	body, err := readRawBody(r)
	if err != nil {
		return nil, err
	}
	head, err := p.commitEpoch(userID, channelID, body)
	if err != nil {
		return nil, err
	}
	return commitResponse{Epoch: head.Epoch}, nil
}

// GET /channel/epoch?chanID=&epoch=
func (p *Plugin) handleReadEpoch(userID string, r *http.Request) (any, error) {
	channelID, err := channelParam(r)
	if err != nil {
		return nil, err
	}
	epoch, err := epochParam(r, "epoch")
	if err != nil {
		return nil, err
	}
	return p.readEpoch(userID, channelID, epoch)
}

// GET /channel/epoch/status?chanID=[&epoch=N]
func (p *Plugin) handleEpochStatus(userID string, r *http.Request) (any, error) {
	channelID, err := channelParam(r)
	if err != nil {
		return nil, err
	}
	var epoch uint64
	if r.URL.Query().Get("epoch") != "" {
		if epoch, err = epochParam(r, "epoch"); err != nil {
			return nil, err
		}
	}
	return p.epochStatus(userID, channelID, epoch)
}

// POST /channel/epoch/joiners?chanID= with a joiner wraps set.
func (p *Plugin) handleAddJoiners(userID string, r *http.Request) (any, error) {
	channelID, err := channelParam(r)
	if err != nil {
		return nil, err
	}
	body, err := readRawBody(r)
	if err != nil {
		return nil, err
	}
	if err := p.addJoiners(userID, channelID, body); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type historySharingResponse struct {
	HistorySharing bool `json:"historySharing"`
}

// POST /channel/history_sharing?chanID=&on=true|false
func (p *Plugin) handleHistorySharing(userID string, r *http.Request) (any, error) {
	channelID, err := channelParam(r)
	if err != nil {
		return nil, err
	}
	on, err := strconv.ParseBool(r.URL.Query().Get("on"))
	if err != nil {
		return nil, apiErr(http.StatusBadRequest, "on must be true or false")
	}
	if err := p.setHistorySharing(userID, channelID, on); err != nil {
		return nil, err
	}
	return historySharingResponse{HistorySharing: on}, nil
}
