/**
 * The code examples of the product document (Ductape's "Managing Secrets" guide, which is
 * not kept in this repository; docs/product.md summarises it), copied character for
 * character, line breaks and all. Do not edit them to make a test pass: the document
 * promises they run as written.
 */

export const CREATE = `const secret = await ductape.secrets.create({
key: 'STRIPE_API_KEY',
value: 'sk_live_51ABC123...',
description: 'Production Stripe API key for payment processing',
token_type: 'api',
scope: ['stripe_payments', 'checkout_service'],
envs: ['prd', 'staging'],
expires_at: Math.floor(Date.now() / 1000) + (365 * 24 * 60 * 60) // 1 year from now
});
console.log('Secret created:', secret.key);`;

export const LIST = `const secrets = await ductape.secrets.fetchAll();
secrets.forEach(secret => {
console.log(\`\${secret.key}: \${secret.description || 'No description'}\`);
console.log(\` Type: \${secret.token_type || 'Not specified'}\`);
console.log(\` Scope: \${secret.scope?.join(', ') || 'All apps'}\`);
console.log(\` Environments: \${secret.envs?.join(', ') || 'All environments'}\`);
});`;

export const FETCH = `const secret = await ductape.secrets.fetch('STRIPE_API_KEY');
console.log('Key:', secret.key);
console.log('Value:', secret.value); // Decrypted value
console.log('Description:', secret.description);`;

export const UPDATE = `// Update the value and extend expiration
const updated = await ductape.secrets.update('STRIPE_API_KEY', {
value: 'sk_live_51NEW_KEY...',
description: 'Rotated Stripe API key - January 2025',
expires_at: Math.floor(Date.now() / 1000) + (180 * 24 * 60 * 60) // 180 days
});
console.log('Secret updated:', updated.key);
console.log('New expiration:', new Date(updated.expires_at * 1000));`;

export const UPDATE_METADATA = `// Update scope and environments without changing the value
const updated = await ductape.secrets.update('STRIPE_API_KEY', {
scope: ['stripe_payments', 'subscription_service', 'invoice_service'],
envs: ['dev', 'staging', 'prd']
});`;

export const DELETE = `const deleted = await ductape.secrets.delete('OLD_API_KEY');
if (deleted) {
console.log('Secret successfully deleted');
}`;

export const REVOKE = `const revoked = await ductape.secrets.revoke('COMPROMISED_KEY');
if (revoked) {
console.log('Secret has been revoked');
}`;

export const TOKEN_ROTATION = `// Set 90-day expiration for compliance
const secret = await ductape.secrets.create({
key: 'PCI_COMPLIANT_KEY',
value: 'sensitive_value',
expires_at: Math.floor(Date.now() / 1000) + (90 * 24 * 60 * 60)
});`;

export const SCOPE_RESTRICTION = `// Restrict Stripe key to payment-related apps only
const secret = await ductape.secrets.create({
key: 'STRIPE_SECRET',
value: 'sk_live_xxx',
scope: ['payment_processor', 'subscription_handler'],
envs: ['prd'] // Production only
});`;

export const ENVIRONMENT_SEPARATION = `// Development
await ductape.secrets.create({
key: 'STRIPE_KEY_DEV',
value: 'sk_test_xxx',
envs: ['dev']
});
// Production
await ductape.secrets.create({
key: 'STRIPE_KEY_PROD',
value: 'sk_live_xxx',
envs: ['prd']
});`;

export const ERROR_HANDLING = `try {
const secret = await ductape.secrets.create({
key: 'MY_SECRET',
value: 'secret_value'
});
} catch (error) {
if (error.response?.status === 409) {
console.error('Secret with this key already exists');
} else if (error.response?.status === 403) {
console.error('You do not have permission to create secrets');
} else {
console.error('Failed to create secret:', error.message);
}
}`;
