// The same user scenarios (lib/scenarios.ts) on the React 19 host, as Mattermost 12.x serves
// plugins: the one bundle must work there unchanged.
import {HOSTS} from '../lib/browser';
import {defineScenarios} from '../lib/scenarios';

defineScenarios(HOSTS[1]);
