import { startApp } from './app.js';
import { createElectronBridge, detectElectronApi } from './bridge/electron-bridge.js';
import { createHttpBridge } from './bridge/http-bridge.js';

// Pick the transport once (docs/architecture.md §7): the preload's API inside Electron, else the headless
// server that served this page (same origin, session cookie).
const exposed = detectElectronApi(window);
const api = exposed !== null ? createElectronBridge(exposed) : createHttpBridge({ baseUrl: location.origin });

const root = document.getElementById('app');
if (!root) throw new Error('index.html has no #app element');
startApp(root, api);
