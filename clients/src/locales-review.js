// UI strings of the review page, retention, the stored resolution and translated server errors, merged
// section by section into locales.js. `errors.<code>` and `errors.<params.reason>` say a server error
// (servers/errors.py: a stable code and its parameters) in the UI's language.
export const reviewMessages = {
  'zh-CN': {
    nav: { review: '事件回看' },
    review: {
      title: '事件回看', kind: '来源类型', allKinds: '全部来源', camera: '摄像头', upload: '上传视频', source: '来源',
      allSources: '全部摄像头和视频', timeRange: '时间范围', from: '开始时间', to: '结束时间', minScore: '最低分数',
      reviewedFilter: '复核状态', all: '全部', unreviewed: '待复核', reviewed: '已复核', timeline: '时间线',
      time: '时间', name: '名称', span: '时段', peak: '最高分', cause: '原因', state: '状态', actions: '操作',
      mark: '标记已复核', unmark: '取消复核', play: '播放', noClip: '此告警没有片段，显示快照',
      removed: '媒体已于 {at} 删除（{reason}）', reviewedBy: '{user} 于 {time} 复核', empty: '没有符合条件的事件',
      marked: '已标记为已复核', unmarked: '已取消复核', clip: '事件片段', ongoing: '进行中', reset: '重置',
      timelineHint: '点击时间线上的点播放该事件',
    },
    retention: { age: '超过保留天数', 'disk-budget': '超出磁盘配额' },
    media: {
      original: '原始文件', removedShort: '快照已删除', removed: '结果视频已于 {at} 删除（{reason}）；分数与封面仍保留。',
    },
    account: { myPassword: '修改我的密码' },
    stream: { reconnecting: '视频源连接中断，正在重连', failed: '视频源已失效' },
    errors: {
      'invalid-credentials': '用户名或密码错误', 'current-password': '当前密码不正确',
      'current-password-missing': '请输入当前密码', 'too-many-attempts': '登录失败次数过多，请 {seconds} 秒后再试',
      busy: '同时登录的人太多，请稍后再试', unauthorized: '请先登录', forbidden: '没有权限执行此操作',
      csrf: '页面已过期，请刷新后重试', 'invalid-field': '字段 {field} 无效',
      'username-format': '用户名须为 1 到 64 个字母、数字或 _ . -',
      'password-length': '密码长度须为 {min} 到 {max} 个字符', 'password-control': '密码不能包含控制字符',
      'password-blank': '密码不能全是空白', 'password-variety': '密码至少要有 4 个不同的字符',
      'password-run': '密码不能是一串连续字符（如 12345678）', 'password-username': '密码不能与用户名相同',
      'password-common': '这个密码太常见了，请换一个', 'missing-file': '请选择要上传的视频文件',
      'empty-file': '文件“{name}”是空的', 'not-a-video': '文件“{name}”不是可以解码的视频',
      'frames-too-large': '文件“{name}”的画面太大（最多 {max} 像素）', 'too-large': '文件超过上传上限（{limit_mb} MB）',
      'queue-full': '已有 {count} 个视频在排队，请 {seconds} 秒后再试', 'unsupported-media-type': '请求的格式不正确',
      'unknown-profile': '场景配置“{profile}”不存在', 'invalid-source': '视频源地址无效',
      'source-length': '视频源地址须为 1 到 {max} 个字符', 'source-characters': '视频源地址不能包含空格或控制字符',
      'source-url': '视频源地址不是有效的 URL', 'source-scheme': '不允许“{scheme}”协议的视频源（允许：{allowed}）',
      'source-file': '服务器上没有这个文件', 'source-host': '视频源地址必须包含主机名',
      'source-denied': '此服务器不允许连接主机 {host}', 'stream-unavailable': '无法打开视频源',
      'models-unavailable': '检测模型无法加载', 'session-name': '名称须为 1 到 200 个字符',
      'minutes-range': '学习时长须为 0 到 {max} 分钟', 'minutes-minimum': '至少需要 {minimum} 分钟的正常画面才能校准场景',
      'not-found': '内容不存在或已被删除', 'not-ready': '检测尚未完成', removed: '结果视频已按保留策略删除',
      'invalid-parameter': '查询参数 {parameter} 无效', 'database-unavailable': '数据库暂时无法连接，请稍后再试',
      'not-running': '监控未在运行', network: '无法连接服务器',
      conflict: '操作与当前状态冲突，请刷新后重试', 'invalid-id': '编号格式无效', 'malformed-json': '请求内容格式错误',
      'no-capacity': '集群没有空闲资源运行此摄像头', 'no-frame': '摄像头还没有画面', 'too-many-streams': '同时观看的画面太多，请关闭一些后再试',
      'unknown-field': '未知字段 {field}', 'user-exists': '用户 {username} 已存在', 'delete-self': '不能删除自己的账号', 'clip-recording': '片段仍在录制，告警结束后即可播放',
      'range-not-satisfiable': '请求的范围超出文件大小', 'bad-request': '请求无效', 'method-not-allowed': '不支持此操作',
      'length-required': '请求缺少长度', unavailable: '服务暂时不可用，请稍后再试',
    },
  },
  en: {
    nav: { review: 'Review' },
    review: {
      title: 'Review', kind: 'Source type', allKinds: 'All sources', camera: 'Camera', upload: 'Upload', source: 'Source',
      allSources: 'All cameras and videos', timeRange: 'Time range', from: 'From', to: 'To', minScore: 'Minimum score',
      reviewedFilter: 'Review state', all: 'All', unreviewed: 'To review', reviewed: 'Reviewed', timeline: 'Timeline',
      time: 'Time', name: 'Name', span: 'Span', peak: 'Peak score', cause: 'Cause', state: 'State', actions: 'Actions',
      mark: 'Mark reviewed', unmark: 'Unmark', play: 'Play', noClip: 'This alert has no clip: its snapshot',
      removed: 'Media removed {at} ({reason})', reviewedBy: 'reviewed by {user}, {time}', empty: 'No events match',
      marked: 'Marked reviewed', unmarked: 'Marked to review', clip: 'Event clip', ongoing: 'ongoing', reset: 'Reset',
      timelineHint: 'Click a point of the timeline to play its event',
    },
    retention: { age: 'older than the retention period', 'disk-budget': 'over the disk budget' },
    media: {
      original: 'Original file', removedShort: 'snapshot removed', removed: 'The result video was removed {at} ({reason}); the scores and cover are kept.',
    },
    account: { myPassword: 'Change my password' },
    stream: { reconnecting: 'The source is down: reconnecting', failed: 'The source has failed' },
    errors: {
      'invalid-credentials': 'Wrong username or password', 'current-password': 'The current password is wrong',
      'current-password-missing': 'Enter your current password', 'too-many-attempts': 'Too many failed logins: try again in {seconds} s',
      busy: 'Too many logins at once: try again shortly', unauthorized: 'Log in first', forbidden: 'You are not allowed to do this',
      csrf: 'The page is out of date: reload it and try again', 'invalid-field': 'The field {field} is not valid',
      'username-format': 'A username has 1 to 64 letters, digits, _ . or -',
      'password-length': 'A password has {min} to {max} characters', 'password-control': 'A password cannot contain control characters',
      'password-blank': 'A password cannot be blank', 'password-variety': 'A password needs at least 4 different characters',
      'password-run': 'A password cannot be a run like 12345678', 'password-username': 'A password cannot be the username',
      'password-common': 'This password is too common: choose another', 'missing-file': 'Choose a video file to upload',
      'empty-file': 'The file "{name}" is empty', 'not-a-video': 'The file "{name}" is not a decodable video',
      'frames-too-large': 'The frames of "{name}" are too large (at most {max} pixels)', 'too-large': 'The file is over the upload limit ({limit_mb} MB)',
      'queue-full': '{count} videos are waiting already: try again in {seconds} s', 'unsupported-media-type': 'The request has the wrong format',
      'unknown-profile': 'There is no scene profile "{profile}"', 'invalid-source': 'The source address is not valid',
      'source-length': 'A source address has 1 to {max} characters', 'source-characters': 'A source address cannot contain spaces or control characters',
      'source-url': 'The source address is not a valid URL', 'source-scheme': 'Sources of the scheme "{scheme}" are not allowed (allowed: {allowed})',
      'source-file': 'There is no such file on the server', 'source-host': 'A source address must name a host',
      'source-denied': 'This server may not connect to the host {host}', 'stream-unavailable': 'Cannot open the source',
      conflict: 'This conflicts with the current state: reload and try again', 'invalid-id': 'The id is not valid',
      'malformed-json': 'The request body is malformed', 'no-capacity': 'The cluster has no free resources for this camera',
      'no-frame': 'The camera has no frame yet', 'too-many-streams': 'Too many streams open at once: close some and try again',
      'unknown-field': 'Unknown field {field}', 'user-exists': 'The user {username} exists already',
      'delete-self': 'You cannot delete your own account', 'clip-recording': 'The clip is still being recorded: it plays once the alert ends',
      'range-not-satisfiable': 'The requested range is outside the file', 'bad-request': 'The request is not valid',
      'method-not-allowed': 'This action is not supported', 'length-required': 'The request lacks a length',
      unavailable: 'The service is unavailable for now: try again shortly',
      'models-unavailable': 'The detection models cannot be loaded', 'session-name': 'A name has 1 to 200 characters',
      'minutes-range': 'Minutes to learn from: 0 to {max}', 'minutes-minimum': 'Calibrating a scene needs at least {minimum} minutes of normal footage',
      'not-found': 'It does not exist or was deleted', 'not-ready': 'Detection is not finished yet', removed: 'The result video was removed by retention',
      'invalid-parameter': 'The query parameter {parameter} is not valid', 'database-unavailable': 'The database cannot be reached: try again later',
      'not-running': 'The session is not running', network: 'Cannot reach the server',
    },
  },
}

/** Merge `extra` into `messages`, section by section (new sections are added, existing ones extended). */
export function mergeMessages(messages, extra) {
  for (const [locale, sections] of Object.entries(extra)) {
    for (const [section, strings] of Object.entries(sections)) {
      messages[locale][section] = { ...(messages[locale][section] || {}), ...strings }
    }
  }
  return messages
}
