import { defineNode } from 'tessera';
import { asAutoencoder } from './asAutoencoder.ts';

/** Sets the autoencoder's reconstruction loss to a subject-weighted MSE. */
export const SubjectLoss = defineNode({
  type: 'latent/SubjectLoss',
  title: 'Subject-weighted reconstruction loss',
  category: 'latent',
  description:
    'L = Σ w·(x̂ − x)² / Σ w over pixels and channels, w = subjectWeight on subject pixels (a target’s label map; a reference’s non-white pixels) and backgroundWeight elsewhere. Without this node the autoencoder trains on the plain MSE.',
  version: '1.0.0',
  inputs: { model: { type: 'MODEL' } },
  outputs: { model: { type: 'MODEL', description: 'The handle with the weighted loss.' } },
  params: {
    type: 'object',
    properties: {
      subjectWeight: { type: 'number', default: 1, minimum: 0, maximum: 1e6, description: 'Weight of subject pixels.' },
      backgroundWeight: { type: 'number', default: 0.2, minimum: 0, maximum: 1e6, description: 'Weight of background pixels (0: subjects only).' },
    },
  },
  async execute(ctx) {
    const model = asAutoencoder(ctx.inputs.model, 'latent/SubjectLoss');
    return { model: model.withLoss({ subject: ctx.params.subjectWeight, background: ctx.params.backgroundWeight }) };
  },
});
