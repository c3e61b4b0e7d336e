/** The key table's name, which every envelope's associated data binds it to (its place), so the services and key maintenance seal with the same one. */
export const API_KEYS_TABLE = 'tb_exchange_api_keys';
