// The user scenarios (lib/scenarios.ts) on the React 18 host, as Mattermost 11.x serves plugins.
import {HOSTS} from '../lib/browser';
import {defineScenarios} from '../lib/scenarios';

defineScenarios(HOSTS[0]);
