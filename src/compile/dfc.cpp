// placeholder: dfc lands here.
namespace hdeploy {}
