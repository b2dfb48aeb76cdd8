/**
 * Route option for answers holding feed objects: JSON.stringify them whole. The schema
 * serializer would drop the properties the schema does not name, and a feed object keeps
 * every property Spur sends, known or not.
 */
export const asStored = { serializerCompiler: () => (data: unknown) => JSON.stringify(data) };
