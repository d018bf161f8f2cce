"""What only pages use: session state and widget keys, browser sessions and their
binding, navigation and the page guard, Plotly charts, live charts, progress, inline
pictures. Nothing outside `pages/` (and `ui` itself) imports it."""
