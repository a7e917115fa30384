/** Types of node/explorer/flowGraph.js (a browser ES module the node's tests import too). */
export interface FlowGraphNode {
  id: string
  kind: 'fee' | 'role' | 'payee'
  role: string
  address: string | null
  amount: bigint
  /** for a role's "others" node: how many payees it stands for; else 0 */
  others: number
}
export interface FlowGraphLink {
  source: string
  target: string
  amount: bigint
  role: string
  rules: string
}
export function flowGraph(
  ex: { fee: string; flows: { address: string | null; role: string; amount: string; rule: string }[] },
  maxPerRole: number,
): { nodes: FlowGraphNode[]; links: FlowGraphLink[] }
