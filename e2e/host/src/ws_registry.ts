// Plugin WebSocket handlers (one per plugin+event) and reconnect handlers (one per plugin).
export const wsHandlers = new Map<string, {event: string; handler: (msg: unknown) => void}>();
export const reconnectHandlers = new Map<string, () => void>();
