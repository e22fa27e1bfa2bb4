// The list lives in core/wire/providers.ts so the editor's browser bundle imports the same one.
export { PROVIDER_CHOICES, isProviderChoice, type ProviderChoice } from '../wire/providers.ts';
