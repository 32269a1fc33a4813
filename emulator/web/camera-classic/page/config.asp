<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<title></title>
<link rel="stylesheet" href="../css/ui.css">
<script src="/SDK/guiConfig.js"></script>
<script src="/common/vendor/crypto-js.js"></script>
<script src="/common/vendor/jsencrypt.min.js"></script>
<script src="../script/isapi.js"></script>
<script src="../script/app.js"></script>
</head>
<body>
<div id="view"></div>
<script src="../script/config.js"></script>
</body>
</html>
