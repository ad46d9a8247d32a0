/** viewer.js is imported as text (`with { type: "text" }`), never run on the server. */
declare const text: string;
export default text;
