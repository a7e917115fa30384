// Entry of the d3-sankey bundle the explorer serves at /explorer/vendor/d3-sankey.js
// (node/explorer.ts bundles it with esbuild on first request).
export { sankey, sankeyLinkHorizontal, sankeyLeft, sankeyJustify } from 'd3-sankey'
