// registerPage adds a page at #<path> (for example the users and roles
// pages of the access work: registerPage('/users', usersPage, 'Users',
// 'admin') plus a nav link with data-scope="admin" in index.html). A page
// is an async function (main, ctx) that fills main; ctx.onCleanup(fn)
// runs fn when the page is left; import the page's module from main.js. Sign-in itself is pages/signin.js, which
// dispatches 'stor:signedin' with GET /api/v1/session's answer.
export const extraRoutes = new Map();
export function registerPage(path, page, title, nav) { extraRoutes.set(path, { page, title, nav }); }
