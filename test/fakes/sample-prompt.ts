import type { JsonObject, JsonValue } from '../../src/core/comfyui/json.js';

/** Options of {@link txt2imgPrompt}. */
export interface SamplePromptOptions {
  steps?: number;
  seed?: number | bigint;
  text?: string;
  /** `_meta.title` of the KSampler (node 3); none when omitted. */
  samplerTitle?: string;
  /** `_meta.title` of the checkpoint loader (node 4); none when omitted. */
  checkpointTitle?: string;
  filenamePrefix?: string;
}

/**
 * The default text-to-image graph in API format (checkpoint → CLIP → KSampler → VAE decode → save),
 * node ids as ComfyUI's default workflow numbers them. The fake ComfyUI executes it; KSampler steps
 * drive the progress events.
 */
export function txt2imgPrompt(o: SamplePromptOptions = {}): JsonObject {
  const meta = (title: string | undefined): { _meta?: JsonValue } => (title ? { _meta: { title } } : {});
  return {
    '4': {
      class_type: 'CheckpointLoaderSimple',
      inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' },
      ...meta(o.checkpointTitle),
    },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 1 } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: o.text ?? 'x', clip: ['4', 1] } },
    '3': {
      class_type: 'KSampler',
      inputs: {
        seed: o.seed ?? 1,
        steps: o.steps ?? 2,
        cfg: 8,
        sampler_name: 'euler',
        scheduler: 'normal',
        denoise: 1,
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['6', 0],
        latent_image: ['5', 0],
      },
      ...meta(o.samplerTitle),
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': {
      class_type: 'SaveImage',
      inputs: { images: ['8', 0], filename_prefix: o.filenamePrefix ?? 'test' },
    },
  };
}
