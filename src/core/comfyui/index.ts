/** ComfyUI integration core (docs/comfyui.md): client, socket, conversion, monitor, runner. */
export * from './client.js';
export * from './convert.js';
export * from './errors.js';
export * from './json.js';
export * from './monitor.js';
export * from './nvidia-smi.js';
export * from './object-info.js';
export * from './run-workflow.js';
export * from './ws.js';
