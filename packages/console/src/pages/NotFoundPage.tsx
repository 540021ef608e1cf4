import { Page } from '../components/Page.js';

export function NotFoundPage() {
  return (
    <Page title="Page not found">
      <p>
        There is no such page. <a href="/secrets">Go to the secrets</a>.
      </p>
    </Page>
  );
}
