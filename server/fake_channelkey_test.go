package main

import (
	"github.com/mattermost/mattermost/server/public/model"
)

// Fakes the channel-key code needs: one team holding every channel of the fake.

func (f *fakeAPI) GetTeamsForUser(string) ([]*model.Team, *model.AppError) {
	return []*model.Team{{Id: "teamteamteamteamteamteamte"}}, nil
}

// removeMember drops a member and runs the hook as the server would after the commit.
func (f *fakeAPI) removeMember(p *Plugin, channelID, userID string) {
	f.mu.Lock()
	var kept []string
	for _, m := range f.members[channelID] {
		if m != userID {
			kept = append(kept, m)
		}
	}
	f.members[channelID] = kept
	f.mu.Unlock()
	p.UserHasLeftChannel(nil, &model.ChannelMember{ChannelId: channelID, UserId: userID}, nil)
}
