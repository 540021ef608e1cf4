import { render } from 'preact';
import { App } from './app.js';
// One stylesheet in the build; split here by concern. Phone rules come last, to override.
import './styles/base.css';
import './styles/layout.css';
import './styles/signin.css';
import './styles/lists.css';
import './styles/pages.css';
import './styles/phone.css';

render(<App />, document.getElementById('app') as HTMLElement);
